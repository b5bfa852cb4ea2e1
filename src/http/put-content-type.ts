// The content type a `PUT /v1/kv/{key}` stores (docs/architecture.md, "Values and content types").
// A missing Content-Type stores none (reads serve the text default). So does curl's form type:
// `curl --data` sends `application/x-www-form-urlencoded` for any body, and a key would carry a
// form type its value never had (in the UI, `kvs ls --long`, exports). The seed route `POST /`
// is a different matter: form posts are its protocol (seed-routes.ts).

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The Content-Type header of a value PUT as the type to store (null: none). */
export function storedContentType(header: string | undefined): string | null {
  if (header === undefined) return null;
  const semicolon = header.indexOf(';');
  const essence = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  return essence === FORM_TYPE ? null : header;
}
