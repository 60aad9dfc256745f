export { createPump, MAX_PENDING, type DecisionEvent, type PolicyHolder, type Pump, type PumpEvents, type PumpOptions, type PumpStats } from './pump.js';
export { InFlightLedger, type PendingRequest } from './in-flight-ledger.js';
export { PumpRequest, type RequestEnds } from './request.js';
export { internalErrorCount } from './internal-errors.js';
export { combineObservers, type InvocationOutcome, type ObservedFrame, type PumpObserver, type RequestEnd } from './observer.js';
