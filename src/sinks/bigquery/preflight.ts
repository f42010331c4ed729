// What can be known about the BigQuery project and credentials without loading Google's client
// or contacting anything: a missing project (or missing credentials) off Google Cloud is then
// one line at once, instead of after google-auth has waited ~3 s for a metadata server that is
// not there. Only a sure "no" stops a run: on what may be a Google Cloud machine (whose metadata
// server knows the project and has credentials) the slow path decides as before. The gcloud
// CLI's project is read from its configuration file rather than by running gcloud.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, describeError } from '../../errors.js';

const PROJECT_ENV = ['GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'gcloud_project', 'google_cloud_project'];

/** The application-default credentials file `gcloud auth application-default login` writes. */
function adcFile(): string {
  if (process.env['CLOUDSDK_CONFIG']) return join(process.env['CLOUDSDK_CONFIG'], 'application_default_credentials.json');
  if (process.platform === 'win32' && process.env['APPDATA']) return join(process.env['APPDATA'], 'gcloud', 'application_default_credentials.json');
  return join(homedir(), '.config', 'gcloud', 'application_default_credentials.json');
}

function credentialsFile(): string | undefined {
  const env = process.env['GOOGLE_APPLICATION_CREDENTIALS'];
  if (env) return env;
  const adc = adcFile();
  return existsSync(adc) ? adc : undefined;
}

/** A project id from the environment or a credentials file, if one says. */
export function quickProjectId(): string | undefined {
  for (const k of PROJECT_ENV) if (process.env[k]) return process.env[k];
  const file = credentialsFile();
  if (!file) return gcloudProject();
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { project_id?: unknown; quota_project_id?: unknown };
    const p = j.project_id ?? j.quota_project_id;
    return typeof p === 'string' && p ? p : gcloudProject();
  } catch {
    return gcloudProject();
  }
}

function gcloudConfigDir(): string {
  if (process.env['CLOUDSDK_CONFIG']) return process.env['CLOUDSDK_CONFIG'];
  if (process.platform === 'win32' && process.env['APPDATA']) return join(process.env['APPDATA'], 'gcloud');
  return join(homedir(), '.config', 'gcloud');
}

/**
 * The project of the gcloud CLI's active configuration (what google-auth would get by running
 * `gcloud config config-helper`, read from its file instead).
 */
function gcloudProject(): string | undefined {
  if (process.env['CLOUDSDK_CORE_PROJECT']) return process.env['CLOUDSDK_CORE_PROJECT'];
  const dir = gcloudConfigDir();
  let name = process.env['CLOUDSDK_ACTIVE_CONFIG_NAME'];
  try {
    name ||= readFileSync(join(dir, 'active_config'), 'utf8').trim();
  } catch {
    name ||= 'default';
  }
  try {
    const ini = readFileSync(join(dir, 'configurations', `config_${name}`), 'utf8');
    const core = /^\[core\][^[]*/m.exec(ini)?.[0] ?? '';
    return /^\s*project\s*=\s*(\S+)/m.exec(core)?.[1];
  } catch {
    return undefined;
  }
}

/** False only when this is surely not a Google Cloud machine (google-auth's own signs). */
export function mightBeOnGoogleCloud(): boolean {
  const detection = process.env['METADATA_SERVER_DETECTION'];
  if (detection === 'none') return false;
  if (detection) return true;
  for (const k of ['GCE_METADATA_HOST', 'GCE_METADATA_IP', 'K_SERVICE', 'K_CONFIGURATION', 'FUNCTION_NAME', 'FUNCTION_TARGET', 'GAE_SERVICE']) {
    if (process.env[k]) return true;
  }
  if (process.platform === 'darwin') return false;
  if (process.platform !== 'linux') return true;
  for (const f of ['/sys/class/dmi/id/bios_vendor', '/sys/class/dmi/id/product_name']) {
    try {
      if (/Google/.test(readFileSync(f, 'utf8'))) return true;
    } catch {
      // Not readable here (a container): no sign of Google Cloud from this file.
    }
  }
  return false;
}

/**
 * Throws the ConfigError the run would end with anyway, when that is already certain: no
 * project anywhere (and no gcloud CLI or Google Cloud machine to ask), or, against Google
 * itself, no credentials anywhere. Returns the project id when it is already known.
 */
export function preflightBigQuery(opts: { project?: string | undefined; apiEndpoint?: string | undefined }): string | undefined {
  const againstGoogle = !opts.apiEndpoint && !process.env['BIGQUERY_EMULATOR_HOST'];
  const project = opts.project || quickProjectId();
  if (!project && !mightBeOnGoogleCloud()) throw new ConfigError('BigQuery project id not found: pass --project or set GOOGLE_CLOUD_PROJECT');
  if (againstGoogle) {
    const env = process.env['GOOGLE_APPLICATION_CREDENTIALS'];
    if (env) {
      try {
        readFileSync(env);
      } catch (e) {
        throw new ConfigError(`BigQuery credentials not usable (GOOGLE_APPLICATION_CREDENTIALS names ${env}, which cannot be read: ${describeError(e)}): run "gcloud auth application-default login" or set GOOGLE_APPLICATION_CREDENTIALS`);
      }
    } else if (!existsSync(adcFile()) && !mightBeOnGoogleCloud()) {
      throw new ConfigError('BigQuery credentials not found: run "gcloud auth application-default login" or set GOOGLE_APPLICATION_CREDENTIALS');
    }
  }
  return project || undefined;
}
