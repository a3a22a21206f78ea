// A lock in the bucket, taken by a conditional PUT (If-None-Match: *): of two takers exactly one
// succeeds. It carries an owner nonce and an expiry; an expired lock (its holder died) is removed
// and the take retried once.
import { randomBytes } from 'node:crypto';
import { CairnError, isCairnError } from '../errors.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { lockKey } from '../format/layout.ts';

export interface HeldLock {
  key: string;
  owner: string;
  /** False once someone else's lock is in its place (expired and taken over). */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

interface LockBody {
  owner: string;
  expiresAt: number;
  purpose: string;
}

export async function takeLock(store: ObjectStore, name: string, o: { ttlMs: number; purpose: string; now?: () => number; signal?: AbortSignal }): Promise<HeldLock> {
  const key = lockKey(name);
  const now = o.now ?? Date.now;
  const owner = randomBytes(16).toString('hex');
  const put = () => store.putObject(key, Buffer.from(JSON.stringify({ owner, expiresAt: now() + o.ttlMs, purpose: o.purpose } satisfies LockBody)), { ifNoneMatch: true, contentType: 'application/json', ...(o.signal ? { signal: o.signal } : {}) });
  const read = async (): Promise<LockBody | undefined> => {
    try {
      const v = JSON.parse((await store.getObject(key, { maxBytes: 4096, ...(o.signal ? { signal: o.signal } : {}) })).toString('utf8')) as Partial<LockBody>;
      return typeof v.owner === 'string' && typeof v.expiresAt === 'number' ? { owner: v.owner, expiresAt: v.expiresAt, purpose: String(v.purpose) } : undefined;
    } catch (err) {
      if (isCairnError(err, 'CAIRN_E_STORE_NOT_FOUND')) return undefined;
      throw err;
    }
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await put();
      break;
    } catch (err) {
      if (!isCairnError(err, 'CAIRN_E_STORE_EXISTS')) throw err;
      const held = await read();
      if (attempt === 0 && (!held || held.expiresAt < now())) {
        await store.deleteObject(key);
        continue;
      }
      throw new CairnError('CAIRN_E_LOCKED', `lock ${name} is held${held ? ` (${held.purpose}, until ${new Date(held.expiresAt).toISOString()})` : ''}`);
    }
  }
  return {
    key,
    owner,
    async stillHeld() {
      return (await read())?.owner === owner;
    },
    async release() {
      if ((await read())?.owner === owner) await store.deleteObject(key);
    },
  };
}
