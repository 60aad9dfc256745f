export { createPump, type DecisionEvent, type PolicyHolder, type Pump, type PumpEvents, type PumpOptions, type PumpStats } from './pump.js';
export { InFlightLedger, type PendingRequest } from './in-flight-ledger.js';
export type { InvocationOutcome, ObservedFrame, PumpObserver, RequestEnd } from './observer.js';
