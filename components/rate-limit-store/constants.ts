/** A lease not answered within this long has failed (the rule then follows onStoreError). */
export const LEASE_TIMEOUT_MS = 500;
/** After a failed lease, the store counts as unavailable this long before it is asked again. */
export const FAILURE_HOLD_MS = 1000;
