// The kinds of change a revision makes to a key: also the event names of GET /v1/watch, so the
// web UI compiles this file too (it must not mention Node types such as Buffer).

export type ChangeType = 'put' | 'delete' | 'expire';
