// Route schemas compiled when a request first needs them instead of when the route is registered:
// compiling every validator and serializer at registration, and loading Ajv and
// fast-json-stringify for it, was about a fifth of an empty store's start-up. The first use
// compiles exactly what registration did, so answers are unchanged. Once the server listens,
// compileAhead() compiles the rest, one schema per turn of the event loop (requests go in
// between), so that first requests seldom wait for a compile.

/** Ajv's compiled validator as Fastify calls it: the result, then `errors` when it is false. */
export interface Validate {
  (data: unknown, context?: unknown): unknown;
  errors?: unknown;
  schemaEnv?: unknown;
}

export type Serialize = (document: unknown) => string;

export class DeferredCompiles {
  /** Compiles not made yet, each of which compiles one schema. */
  private readonly pending = new Set<() => void>();
  private ahead: NodeJS.Immediate | undefined;

  /** A validator that compiles with `compile` on its first call, then runs what it compiled. */
  validator(compile: () => Validate): Validate {
    const ensure = this.deferred(compile);
    const validate: Validate = (data, context) => {
      const real = ensure();
      const result = real(data, context);
      validate.errors = real.errors;
      return result;
    };
    // Fastify hands a request part's parent (needed to coerce the part as a whole) only to a
    // function that has schemaEnv, as Ajv's compiled functions all do; this one passes it on.
    validate.schemaEnv = true;
    return validate;
  }

  /** A serializer that compiles with `compile` on its first call, then runs what it compiled. */
  serializer(compile: () => Serialize): Serialize {
    const ensure = this.deferred(compile);
    return (document) => ensure()(document);
  }

  /** `compile`, run once on the first call of what this returns (or by compileAll/compileAhead). */
  private deferred<Compiled>(compile: () => Compiled): () => Compiled {
    let compiled: Compiled | undefined;
    const ensure = (): Compiled => {
      compiled ??= compile();
      this.pending.delete(ensure);
      return compiled;
    };
    this.pending.add(ensure);
    return ensure;
  }

  /** Compiles every schema not compiled yet, now; returns how many; throws what a compile throws. */
  compileAll(): number {
    const waiting = [...this.pending];
    for (const ensure of waiting) ensure();
    return waiting.length;
  }

  /** Compiles the rest in the background, one per turn of the event loop, until done or stop(). */
  compileAhead(onError: (error: unknown) => void): void {
    const next = () => {
      this.ahead = undefined;
      const ensure = this.pending.values().next().value;
      if (ensure === undefined) return;
      try {
        ensure();
      } catch (error) {
        // Left pending no more: its first request will meet the same error (an internal error).
        this.pending.delete(ensure);
        onError(error);
      }
      this.ahead = setImmediate(next);
    };
    this.ahead ??= setImmediate(next);
  }

  stop(): void {
    if (this.ahead !== undefined) clearImmediate(this.ahead);
    this.ahead = undefined;
  }
}
