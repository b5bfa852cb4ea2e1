// Per-route options read by the shared hooks and the error renderer.
declare module 'fastify' {
  interface FastifyContextConfig {
    /** Render errors as plain text (seed routes). */
    plainErrors?: boolean;
    /** The body is a stored value: a too-large body is value_too_large, not body_too_large. */
    valueBody?: boolean;
  }
}
export {};
