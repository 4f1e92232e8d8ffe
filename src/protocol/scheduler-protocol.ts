/**
 * The revision of the scheduler protocol (proto/damselfly/scheduler/v1) this build speaks. Each
 * side refuses a peer older than itself, so a mixed cluster fails over to the source instead of
 * misreading messages. 0 is every build before revisions; 1 batches piece reports and sends
 * each piece digest to a child once.
 */
export const SCHEDULER_PROTOCOL_REVISION = 1
