// Prometheus text exposition format 0.0.4, written by hand: a few counters, one
// histogram and gauges read at scrape time.

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const cur = this.values.get(key);
    if (cur) cur.value += by;
    else this.values.set(key, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const { labels, value } of this.values.values()) s += `${this.name}${labelText(labels)} ${value}\n`;
    return s;
  }
}

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    this.buckets.forEach((b, i) => { if (v <= b) this.counts[i]!++; });
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    this.buckets.forEach((b, i) => { s += `${this.name}_bucket{le="${b}"} ${this.counts[i]}\n`; });
    s += `${this.name}_bucket{le="+Inf"} ${this.count}\n${this.name}_sum ${this.sum}\n${this.name}_count ${this.count}\n`;
    return s;
  }
}

/**
 * Values read at scrape time; `counter` for monotonically increasing ones kept elsewhere
 * (default gauge). Samples of one metric with different labels follow each other.
 */
export type GaugeSource = () => Promise<Array<{ name: string; help: string; value: number | null; type?: 'gauge' | 'counter'; labels?: Labels }>>;

export class Metrics {
  readonly logins = new Counter('ljwt_logins_total', 'Login attempts by outcome (success, invalid_credentials, throttled, ...).');
  readonly ldapLatency = new Histogram('ljwt_ldap_bind_duration_seconds', 'Duration of LDAP authentication (search + bind).',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  readonly tokensIssued = new Counter('ljwt_tokens_issued_total', 'Access tokens issued, by grant type.');
  readonly throttled = new Counter('ljwt_throttled_requests_total', 'Login attempts refused with 429, by limit (username, ip).');
  readonly refreshReuse = new Counter('ljwt_refresh_token_reuse_total', 'Refresh token reuse detections (outcome: grace or family_revoked).');
  readonly codeReuse = new Counter('ljwt_authorization_code_reuse_total', 'Authorization codes presented a second time.');
  readonly validations = new Counter('ljwt_auth_validate_total', 'auth_request validations by result.');
  readonly edgeRevocationEntries = new Counter('ljwt_edge_revocation_entries_total',
    'Revocations pushed to nginx, per entry and edge, by outcome (stored, expired before delivery, dropped: queue full).');
  readonly edgeRevocationFailures = new Counter('ljwt_edge_revocation_push_failures_total', 'Failed revocation pushes to nginx, by edge URL.');
  private readonly gauges: GaugeSource[] = [];

  addGauges(source: GaugeSource): void {
    this.gauges.push(source);
  }

  async render(): Promise<string> {
    let s = [this.logins, this.ldapLatency, this.tokensIssued, this.throttled, this.refreshReuse, this.codeReuse, this.validations,
      this.edgeRevocationEntries, this.edgeRevocationFailures]
      .map((m) => m.render()).join('');
    for (const source of this.gauges) {
      let previous = '';
      for (const g of await source()) {
        if (g.name !== previous) s += `# HELP ${g.name} ${g.help}\n# TYPE ${g.name} ${g.type ?? 'gauge'}\n`;
        previous = g.name;
        s += `${g.name}${labelText(g.labels ?? {})} ${g.value === null ? 'NaN' : g.value}\n`;
      }
    }
    return s;
  }
}
