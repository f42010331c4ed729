// msg_type 13: JAM Statistics (pi: validator, core and service activity), fanned out into one
// row per validator, per core and per service. codec_encoded is null: it belongs to the message,
// not to any one of its rows.
import { RejectError } from '../../pipeline/rejects.js';
import { list, obj, opt, req, type Obj } from './fields.js';
import type { Handler } from './types.js';

const VAL = ['blocks', 'tickets', 'pre_images', 'pre_images_size', 'guarantees', 'assurances'] as const;

export const statistics: Handler = {
  msgType: 13,
  description: 'activity statistics (validators, cores, services)',
  tables: ['validatorstatistics', 'corestatistics', 'servicestatistics'],
  map(e, emit) {
    const s = obj(e.json, 'json_encoded');
    // The producers' names; the GP 0.6 test vectors call them vals_curr_stats / vals_last_stats.
    const cur = list(s, s.vals_current === undefined && s.vals_curr_stats !== undefined ? 'vals_curr_stats' : 'vals_current', 'json_encoded');
    const last = list(s, s.vals_last === undefined && s.vals_last_stats !== undefined ? 'vals_last_stats' : 'vals_last', 'json_encoded');
    const cores = list(s, 'cores', 'json_encoded');
    const services = list(s, 'services', 'json_encoded');
    if (cur.length + cores.length + services.length === 0) {
      throw new RejectError('no_rows', 'statistics has no validators, cores or services');
    }
    for (let i = 0; i < cur.length; i++) {
      const cp = `json_encoded.vals_current[${i}]`, lp = `json_encoded.vals_last[${i}]`;
      const c = obj(cur[i], cp);
      const l: Obj | undefined = last[i] === undefined ? undefined : obj(last[i], lp);
      emit('validatorstatistics', {
        time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
        validator_id: i,
        current_blocks: req(c, VAL[0], cp),
        current_tickets: req(c, VAL[1], cp),
        current_pre_images: req(c, VAL[2], cp),
        current_pre_images_size: req(c, VAL[3], cp),
        current_guarantees: req(c, VAL[4], cp),
        current_assurances: req(c, VAL[5], cp),
        last_blocks: l ? req(l, VAL[0], lp) : null,
        last_tickets: l ? req(l, VAL[1], lp) : null,
        last_pre_images: l ? req(l, VAL[2], lp) : null,
        last_pre_images_size: l ? req(l, VAL[3], lp) : null,
        last_guarantees: l ? req(l, VAL[4], lp) : null,
        last_assurances: l ? req(l, VAL[5], lp) : null,
        codec_encoded: null,
      });
    }
    for (let i = 0; i < cores.length; i++) {
      const p = `json_encoded.cores[${i}]`;
      const c = obj(cores[i], p);
      emit('corestatistics', {
        time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
        core: i,
        da_load: req(c, 'da_load', p),
        popularity: req(c, 'popularity', p),
        imports: req(c, 'imports', p),
        exports: req(c, 'exports', p),
        extrinsic_size: req(c, 'extrinsic_size', p),
        extrinsic_count: req(c, 'extrinsic_count', p),
        bundle_size: req(c, 'bundle_size', p),
        gas_used: req(c, 'gas_used', p),
        codec_encoded: null,
      });
    }
    for (let i = 0; i < services.length; i++) {
      const p = `json_encoded.services[${i}]`;
      const sv = obj(services[i], p);
      const r = obj(sv.record, `${p}.record`);
      const rp = `${p}.record`;
      emit('servicestatistics', {
        time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
        service_id: req(sv, 'id', p),
        provided_count: req(r, 'provided_count', rp),
        provided_size: req(r, 'provided_size', rp),
        refinement_count: req(r, 'refinement_count', rp),
        refinement_gas_used: req(r, 'refinement_gas_used', rp),
        imports: req(r, 'imports', rp),
        exports: req(r, 'exports', rp),
        extrinsic_size: req(r, 'extrinsic_size', rp),
        extrinsic_count: req(r, 'extrinsic_count', rp),
        accumulate_count: req(r, 'accumulate_count', rp),
        accumulate_gas_used: req(r, 'accumulate_gas_used', rp),
        // GP 0.7.1 dropped on-transfer: absent there, null in the row.
        on_transfers_count: opt(r, 'on_transfers_count', rp),
        on_transfers_gas_used: opt(r, 'on_transfers_gas_used', rp),
        codec_encoded: null,
      });
    }
  },
};
