// oidc-provider storage adapter backed by Redis (ioredis), for bench/issuer_refresh.sh.
//
// The shape follows oidc-provider's documented adapter interface and its Redis example
// (example/adapters/redis.js in the oidc-provider repository): consumable models (refresh
// tokens, codes) are hashes so `consume` can set a field; everything else is a string key;
// tokens of a grant are listed under grant:<id> so revokeByGrantId can delete them. It is the
// usual way to run oidc-provider on several processes: node:cluster workers share no memory,
// so with the default in-memory adapter a refresh token saved by one worker is unknown to the
// others. The bench script runs redis-server with `appendonly yes` and `appendfsync always`,
// so every write is on disk (fsync) before Redis answers: durable rotation, like tokengate's
// SQLite store (WAL, synchronous=FULL).
//
// ioredis comes from ./redis/node_modules (its own package.json and lockfile), so the
// client_credentials benchmark, which does not use it, needs no extra package.
import { createRequire } from 'node:module';

const require = createRequire(new URL('./redis/package.json', import.meta.url));
const Redis = require('ioredis');

const grantable = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

const consumable = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

const grantKeyFor = (id) => `grant:${id}`;
const userCodeKeyFor = (userCode) => `userCode:${userCode}`;
const uidKeyFor = (uid) => `uid:${uid}`;

// connection: a unix socket path (starts with "/") or a redis:// URL.
export function redisAdapter(connection) {
  const client = connection.startsWith('/')
    ? new Redis({ path: connection, keyPrefix: 'oidc:', lazyConnect: false })
    : new Redis(connection, { keyPrefix: 'oidc:' });

  class RedisAdapter {
    constructor(name) {
      this.name = name;
    }

    key(id) {
      return `${this.name}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = client.multi();
      if (consumable.has(this.name)) {
        multi.hset(key, { payload: JSON.stringify(payload) });
      } else {
        multi.set(key, JSON.stringify(payload));
      }
      if (expiresIn) multi.expire(key, expiresIn);

      if (grantable.has(this.name) && payload.grantId) {
        const grantKey = grantKeyFor(payload.grantId);
        multi.rpush(grantKey, key);
        const ttl = await client.ttl(grantKey);
        if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
      }
      if (payload.userCode) {
        const userCodeKey = userCodeKeyFor(payload.userCode);
        multi.set(userCodeKey, id);
        multi.expire(userCodeKey, expiresIn);
      }
      if (payload.uid) {
        const uidKey = uidKeyFor(payload.uid);
        multi.set(uidKey, id);
        multi.expire(uidKey, expiresIn);
      }
      await multi.exec();
    }

    async find(id) {
      const data = consumable.has(this.name)
        ? await client.hgetall(this.key(id))
        : await client.get(this.key(id));
      if (!data || (typeof data === 'object' && Object.keys(data).length === 0)) return undefined;
      if (typeof data === 'string') return JSON.parse(data);
      const { payload, ...rest } = data;
      return { ...rest, ...JSON.parse(payload) };
    }

    async findByUid(uid) {
      const id = await client.get(uidKeyFor(uid));
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode) {
      const id = await client.get(userCodeKeyFor(userCode));
      return id ? this.find(id) : undefined;
    }

    async destroy(id) {
      await client.del(this.key(id));
    }

    async revokeByGrantId(grantId) {
      const multi = client.multi();
      // the list holds keys as key() returns them (no prefix); ioredis adds the prefix
      const tokens = await client.lrange(grantKeyFor(grantId), 0, -1);
      for (const token of tokens) multi.del(token);
      multi.del(grantKeyFor(grantId));
      await multi.exec();
    }

    async consume(id) {
      await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }
  }

  return { Adapter: RedisAdapter, ready: () => client.ping(), client };
}
