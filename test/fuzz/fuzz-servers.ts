// How the fuzz tests and `npm run fuzz` start the server they fuzz: small limits, so that the
// bounds are reached often, and failed-authentication limits the campaigns' deliberately wrong
// tokens do not reach (else most cases would only see 429).

const MiB = 1024 * 1024;

const AUTH_ARGS = ['--auth-failures', '1000000', '--auth-failures-global', '1000000'];

/** Small slow-client timeouts, so that truncated raw requests end quickly. */
export const HTTP_FUZZ_ARGS: readonly string[] = [
  '--store',
  'lmdb',
  '--headers-timeout-ms',
  '2000',
  '--request-timeout-ms',
  '4000',
  ...AUTH_ARGS,
];

export const RESP_FUZZ_ARGS: readonly string[] = [
  '--resp-port',
  '0',
  '--max-value-bytes',
  String(64 * 1024),
  '--max-batch',
  '100',
  '--max-resp-request-bytes',
  String(MiB),
  '--max-resp-output-bytes',
  String(8 * MiB),
  '--max-resp-clients-bytes',
  String(32 * MiB),
  '--request-timeout-ms',
  '2000',
  ...AUTH_ARGS,
];

/**
 * Growth of the server's own memory (RssAnon, resp-fuzzer.ts) the RESP campaign allows with
 * RESP_FUZZ_ARGS: the clients' bound plus garbage not yet collected. Measured (2026-12-01): the
 * CI campaign grows it by 67-89 MB, a 400 s campaign by 121 MB; with a leak planted for the
 * check (every read chunk kept) the CI campaign grows it by 155-165 MB, which this bound catches and
 * the 160 MiB before it did not.
 */
export const RESP_FUZZ_RSS_GROWTH_BYTES = 32 * MiB + 96 * MiB;
