/**
 * How long a warm predict instance keeps a model's production alias before reading it again. A
 * promotion, a rollback or a canary's weight change reaches every request within this time after the
 * registry write; the CLI's `promote` and `rollback` wait it out before they report the change. At
 * 50,000 requests a second spread over many instances, reading the alias on every request would be
 * 50,000 reads a second of one registry item; with this cache it is one read per instance a second.
 */
export const PRODUCTION_ALIAS_TTL_MS = 1_000;
