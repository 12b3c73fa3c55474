/** The LineWriter the audit trail appends to. */
export const AUDIT_WRITER = Symbol('AUDIT_WRITER');
