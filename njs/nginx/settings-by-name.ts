// The location's settings by variable name, for what is not the hot path:
// reading every $ljwt_* variable (no snapshot, or one to be checked) and the
// map the configuration parser takes. Kept apart from context.ts so that the
// per-request module holds no settings table (see setting-positions.ts).

import { ljwtError } from '../lib/errors.ts';
import { EDGE_VARIABLES } from '../config.ts';
import { LOCATION_SNAPSHOT, SUBREQUEST_SNAPSHOT, type Settings } from './context.ts';

type Vars = { [name: string]: string | undefined };

// Every input variable read one by one ("" where unset).
function liveList(vars: Vars): string[] {
  const list: string[] = [];
  for (let i = 0; i < EDGE_VARIABLES.length; i++) {
    // An undeclared variable reads as undefined (nginx/http.conf declares them all).
    const v = vars[EDGE_VARIABLES[i]];
    list.push(v === undefined || v === null ? '' : String(v));
  }
  return list;
}

/** The settings read variable by variable (where protect.conf took no snapshot). */
export function liveSettings(vars: Vars): Settings {
  const list = liveList(vars);
  return { text: list.join('\n'), list: list };
}

/**
 * Throws ERR_CONFIG_INVALID naming the first variable whose value now
 * differs from the snapshot `taken`, or, when none does, the two snapshots
 * (`subrequestSnapshot` non-empty) that differ.
 */
export function refuseChangedSettings(vars: Vars, taken: string[], subrequestSnapshot: string): void {
  const live = liveList(vars);
  for (let i = 0; i < EDGE_VARIABLES.length; i++) {
    if (taken[i] !== live[i]) {
      throw ljwtError('ERR_CONFIG_INVALID', '$' + EDGE_VARIABLES[i] + ' differs from its value where protect.conf ' +
        'was included: set it at server level or in locations, not both (a guarded server default is fine, ' +
        'see server.conf), and above `include protect.conf`');
    }
  }
  if (subrequestSnapshot !== '') throw ljwtError('ERR_CONFIG_INVALID', '$' + SUBREQUEST_SNAPSHOT + ' differs from $' + LOCATION_SNAPSHOT);
}

/** The settings as parseEdgeConfig reads them (unset ones absent). */
export function settingsMap(settings: Settings): { [name: string]: string } {
  const out: { [name: string]: string } = {};
  for (let i = 0; i < EDGE_VARIABLES.length; i++) if (settings.list[i] !== '') out[EDGE_VARIABLES[i]] = settings.list[i];
  return out;
}

export default { liveSettings: liveSettings, refuseChangedSettings: refuseChangedSettings };
