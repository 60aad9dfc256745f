// The one atomic step every lease is: refill the fleet's bucket by the time since it was last
// touched (Redis's own clock, so replicas with skewed clocks agree), charge what the replica
// already granted on credit, then grant up to `want` whole tokens. Tokens can go below zero by
// the credit, which later refills repay, so the fleet's rate holds over time. The key expires
// when the bucket would be full again: an idle key costs Redis nothing and comes back full.
export const LEASE_SCRIPT = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local debt = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * perMs)
  at = now
end
tokens = tokens - debt
local granted = 0
if tokens >= 1 - 1e-9 then
  granted = math.min(want, math.floor(tokens + 1e-9))
  tokens = math.max(0, tokens - granted)
end
local retry = 0
if tokens < 1 - 1e-9 then
  retry = math.max(1, math.ceil((1 - tokens) / perMs - 1e-6))
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%d', at))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / perMs) + 1000)
return { granted, retry }
`;
