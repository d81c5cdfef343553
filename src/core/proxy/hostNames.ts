import { hostname, networkInterfaces } from 'node:os';

/** How often the machine's addresses are read again when a name is not found (wildcard bind). */
const REFRESH_MS = 5000;
const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

/** The machine's own addresses (IPv6 in brackets, as in a Host header) and its host name. */
export function machineNames(): string[] {
  const names = [hostname().toLowerCase()];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      names.push(a.family === 'IPv6' ? `[${a.address.split('%', 1)[0].toLowerCase()}]` : a.address);
    }
  }
  return names;
}

/**
 * The host names a request may address (the DNS-rebinding check: a page on evil.example that
 * resolves to this machine still sends Host: evil.example). Always loopback and the listening
 * address; when the proxy listens beyond loopback, also the machine's own addresses and name (read
 * again when the network changes), and the names the user allows (`--allow-host`). `0.0.0.0` is
 * never a name: browsers have reached local services through it.
 */
export class HostNames {
  private names = new Set<string>();
  private refreshedAt = 0;
  /** Listening on loopback: the machine's other addresses cannot reach it. */
  private readonly local: boolean;
  /** Names accepted whatever the network: loopback, the listening address, the user's. */
  private readonly fixed: string[];

  constructor(
    listenHost: string,
    extra: readonly string[] = [],
    private readonly machine: () => string[] = machineNames,
    private readonly refreshMs = REFRESH_MS,
  ) {
    const h = listenHost.toLowerCase();
    const wildcard = WILDCARDS.has(h);
    this.local = !wildcard && (LOOPBACK.includes(h) || h === '::1');
    const listening = wildcard ? [] : [h.includes(':') && !h.startsWith('[') ? `[${h}]` : h];
    this.fixed = [...new Set([...LOOPBACK, ...listening, ...extra.map((n) => n.toLowerCase())])];
    this.refresh();
  }

  /** True when `name` (a Host header's name: lower case, IPv6 in brackets) addresses this proxy. */
  has(name: string): boolean {
    if (this.names.has(name)) {
      return true;
    }
    if (!this.local && Date.now() - this.refreshedAt >= this.refreshMs) {
      this.refresh(); // a new address (DHCP, VPN) since the last look
      return this.names.has(name);
    }
    return false;
  }

  /** For error messages: what is accepted. */
  describe(port: number | null): string {
    const shown = this.local ? this.fixed : [...this.names];
    return `${shown.map((n) => `${n}:${port}`).join(', ')}${this.local ? '' : ' (this machine\'s addresses and name; more with --allow-host)'}`;
  }

  private refresh(): void {
    this.refreshedAt = Date.now();
    const names = new Set(this.fixed);
    if (!this.local) {
      for (const n of this.machine()) {
        names.add(n);
      }
    }
    names.delete('0.0.0.0');
    this.names = names;
  }
}
