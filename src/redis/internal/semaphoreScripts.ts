/**
 * The Lua of the shared counting semaphore (`RedisConcurrencyLimiter`): each
 * step is one script, so one round trip, and atomic against every worker.
 *
 * Keys, all under the limiter's base key:
 * - `holders` (zset): slot id → lease expiry (ms, Redis's clock);
 * - `shared` (hash): `ceiling` (configured), `learned` (from headers), `peak`;
 * - `queue` (zset): waiting slot id → place in line (from `seq`);
 * - `owners` (zset): process → liveness expiry, renewed with its leases, so a
 *   dead process's place in line is skipped instead of being handed a slot;
 * - `seq`: the line's counter;
 * - `rates` (hash): waiting slot id → where to record its request's start
 *   when it is granted (`"<window ms> <limit> <log key>"`, see
 *   `rateFold.ts`), for waiters whose process folds the rate check in.
 *
 * A slot id is `<owner>:<n>`. A freed slot goes straight to the head of the
 * line: its lease is written for the waiter and one message is published on
 * that waiter's process channel (`<base>:granted:<owner>`), so exactly one
 * process wakes, and needs no further round trip to take it. With the rate
 * check folded in, the grant also records the request's start in the rate
 * limiter's sliding log and carries the wait before it (`"<wait ms> <id>"`).
 *
 * The rate logs are named by the waiters' specs, not declared in KEYS: fine
 * on one Redis server (as the limiters are used), not on a cluster.
 *
 * @internal
 */
import * as LuaScript from "./luaScript.js"

/** A slot granted, with the wait before its request's start when one was recorded with it. */
export interface Granted {
  readonly id: string
  readonly waitMs: number | undefined
}

const waitOf = (raw: string): number | undefined => (raw === "" ? undefined : Number(raw))

/** A `take` or `release` reply: the size and slots in use Redis saw, and the slots granted to this process. */
export const parseReply = (reply: ReadonlyArray<string>) => {
  const [size = "1", inUse = "0", ...rest] = reply
  const granted: Array<Granted> = []
  for (let i = 0; i + 1 < rest.length; i += 2) granted.push({ id: rest[i] ?? "", waitMs: waitOf(rest[i + 1] ?? "") })
  return { size: Number(size), inUse: Number(inUse), granted }
}

/** A hand-over message: `"<wait ms or nothing> <id>"`. */
export const parseMessage = (message: string): Granted => {
  const space = message.indexOf(" ")
  return space < 0 ? { id: message, waitMs: undefined } : { id: message.slice(space + 1), waitMs: waitOf(message.slice(0, space)) }
}

/** Key order of every script. */
export const keysOf = (base: string): ReadonlyArray<string> => [
  `${base}:holders`,
  `${base}:shared`,
  `${base}:queue`,
  `${base}:owners`,
  `${base}:seq`,
  `${base}:rates`
]

/** The channel on which `owner` hears that one of its waiters was handed a slot. */
export const grantChannel = (base: string, owner: string): string => `${base}:granted:${owner}`

// Shared prologue: `now`, expired leases dropped, `size` and `inUse`, and
// `serveLine(self)`, which hands free slots to the line's head: ids of `self`
// are returned, others are told on their channel.
// ARGV[1] lease ms, ARGV[2] initial size, ARGV[3] configured ceiling or "",
// ARGV[4] channel prefix (`<base>:granted:`), ARGV[5] this process.
const prologue = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local shared = redis.call('HMGET', KEYS[2], 'ceiling', 'learned', 'peak')
local ceiling = tonumber(shared[1]) or tonumber(ARGV[3])
local learned = tonumber(shared[2])
local size = tonumber(ARGV[2])
if ceiling then
  size = ceiling
  if learned and learned < ceiling then size = learned end
elseif learned then
  size = learned
end
local inUse = redis.call('ZCARD', KEYS[1])
local mine = {}
local function ownerOf(id) return string.match(id, '^(.*):[^:]*$') or id end
-- Records a start for slot id in the sliding log its spec names, as
-- RedisRateLimiter's own script does (the earliest time no rolling window
-- holds more than its limit, never before the last start): the wait in ms,
-- or '' when there is no spec.
local function startOf(spec, id)
  if not spec or spec == '' then return '' end
  local window, limit, log = string.match(spec, '^(%d+) (%d+) (.+)$')
  if not log then return '' end
  window = tonumber(window)
  limit = tonumber(limit)
  redis.call('ZREMRANGEBYSCORE', log, '-inf', '(' .. (now - window))
  local at = now
  local last = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')[2]
  if last and tonumber(last) > at then at = tonumber(last) end
  if redis.call('ZCARD', log) >= limit then
    local kth = tonumber(redis.call('ZRANGE', log, -limit, -limit, 'WITHSCORES')[2])
    if kth + window + 1 > at then at = kth + window + 1 end
  end
  redis.call('ZADD', log, at, 'slot:' .. id)
  redis.call('PEXPIRE', log, at - now + window + 1000)
  return tostring(at - now)
end
local function serveLine(self)
  while inUse < size do
    local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
    if not head then break end
    redis.call('ZREM', KEYS[3], head)
    local spec = redis.call('HGET', KEYS[6], head)
    if spec then redis.call('HDEL', KEYS[6], head) end
    local owner = ownerOf(head)
    local alive = tonumber(redis.call('ZSCORE', KEYS[4], owner))
    if alive and alive > now then
      redis.call('ZADD', KEYS[1], now + lease, head)
      inUse = inUse + 1
      local wait = startOf(spec, head)
      if owner == self then
        table.insert(mine, head)
        table.insert(mine, wait)
      else
        redis.call('PUBLISH', ARGV[4] .. owner, wait .. ' ' .. head)
      end
    end
  end
end
local function notePeak()
  if inUse > (tonumber(shared[3]) or 0) then redis.call('HSET', KEYS[2], 'peak', inUse) end
end
`

/**
 * Gives back this process's released slots, then takes slots for its
 * waiters: the line is served first; then each id is granted (held already:
 * a grant whose message was lost, without a start), still in line, or new,
 * when it gets a free slot if nobody waits before it, else a place at the
 * end of the line. ARGV[6]: the rate spec of this process's new waiters
 * (`""` for none); ARGV[7]: how many released ids follow, then those ids,
 * then the waiters'.
 * Returns `{ size, inUse, then per granted id: id, wait ms or "" }`.
 */
export const take = LuaScript.make(`${prologue}
redis.call('ZADD', KEYS[4], now + lease, ARGV[5])
local spec = ARGV[6]
local released = tonumber(ARGV[7])
for i = 8, 7 + released do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then inUse = inUse - 1 end
end
serveLine(ARGV[5])
for i = 8 + released, #ARGV do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) then
    table.insert(mine, id)
    table.insert(mine, '')
  elseif not redis.call('ZSCORE', KEYS[3], id) then
    if inUse < size and redis.call('ZCARD', KEYS[3]) == 0 then
      redis.call('ZADD', KEYS[1], now + lease, id)
      inUse = inUse + 1
      table.insert(mine, id)
      table.insert(mine, startOf(spec, id))
    else
      redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[5]), id)
      if spec ~= '' then redis.call('HSET', KEYS[6], id, spec) end
    end
  end
end
notePeak()
local reply = { size, inUse }
for _, v in ipairs(mine) do table.insert(reply, v) end
return reply
`)

/**
 * Gives a slot back (or takes a waiter out of line) and hands every free
 * slot to the head of the line. ARGV[6]: the id.
 * Returns `{ size, inUse, then per id granted to this process: id, wait ms or "" }`.
 */
export const release = LuaScript.make(`${prologue}
if redis.call('ZREM', KEYS[1], ARGV[6]) == 1 then inUse = inUse - 1 end
redis.call('ZREM', KEYS[3], ARGV[6])
redis.call('HDEL', KEYS[6], ARGV[6])
serveLine(ARGV[5])
notePeak()
local reply = { size, inUse }
for _, v in ipairs(mine) do table.insert(reply, v) end
return reply
`)

/**
 * Renews this process's liveness and the leases it holds. A missing lease is
 * added back: its request is still in flight (Redis restarted empty, or the
 * holder was cut off longer than the lease), so counting it is the truth and
 * only makes others wait. KEYS: holders, owners; ARGV: lease ms, owner, ids.
 */
export const renew = LuaScript.make(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), ARGV[2])
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
end
return #ARGV - 2
`)
