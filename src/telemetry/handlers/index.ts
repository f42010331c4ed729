// The registry: msg_type -> handler. Aliases live here and only here: one README of the
// reference names work packages 0 and segments 3, the producers send 133 and 135.
import { assurances } from './assurances.js';
import { blocks } from './blocks.js';
import { preimages } from './preimages.js';
import { segments } from './segments.js';
import { services } from './services.js';
import { statistics } from './statistics.js';
import { tickets } from './tickets.js';
import type { Handler } from './types.js';
import { workpackages } from './workpackages.js';
import { workreports } from './workreports.js';

export type { Emit, Handler } from './types.js';

export const HANDLERS: readonly Handler[] = [blocks, statistics, workreports, preimages, assurances, tickets, workpackages, services, segments];

export const ALIASES: ReadonlyMap<number, number> = new Map([
  [0, 133],
  [3, 135],
]);

const byType = new Map<number, Handler>();
for (const h of HANDLERS) byType.set(h.msgType, h);
for (const [alias, target] of ALIASES) byType.set(alias, byType.get(target)!);

export function handlerFor(msgType: number): Handler | undefined {
  return byType.get(msgType);
}

export function knownMsgTypes(): number[] {
  return [...byType.keys()].sort((a, b) => a - b);
}
