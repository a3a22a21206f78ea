// The agent's --metrics-address (agent/src/config.ts): by default the --listen host on port 9444,
// so a DaemonSet pod serves metrics on its pod IP, where the prometheus.io/port annotation says.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.ts';

const base = ['--node-name', 'node-1', '--tls-ca', 'ca', '--tls-cert', 'crt', '--tls-key', 'key'];

describe('--metrics-address', () => {
  it('defaults to the --listen host, port 9444', () => {
    expect(parseConfig([...base, '--listen', '10.244.3.9:9443'], {}).metricsAddress).toBe('10.244.3.9:9444');
    expect(parseConfig([...base, '--listen', '[fd00::9]:9443'], {}).metricsAddress).toBe('[fd00::9]:9444');
  });

  it('comes from the flag or CAIRN_METRICS_ADDRESS', () => {
    expect(parseConfig([...base, '--listen', '10.0.0.1:9443', '--metrics-address', '127.0.0.1:0'], {}).metricsAddress).toBe('127.0.0.1:0');
    expect(parseConfig([...base, '--listen', '10.0.0.1:9443'], { CAIRN_METRICS_ADDRESS: '0.0.0.0:9555' }).metricsAddress).toBe('0.0.0.0:9555');
  });

  it('refuses what is not HOST:PORT', () => {
    expect(() => parseConfig([...base, '--listen', '10.0.0.1:9443', '--metrics-address', '9444'], {})).toThrow(/--metrics-address must be HOST:PORT/);
    expect(() => parseConfig([...base, '--listen', '10.0.0.1:9443', '--metrics-address', '10.0.0.1:99999'], {})).toThrow(/--metrics-address/);
  });
});
