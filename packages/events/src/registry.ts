/**
 * The schema registry and event validation.
 *
 * `version` is the schema version of `data`, `major.minor`: a schema is registered per
 * (eventType, version). The platform's schemas (1.0, and the later minors of some) are
 * registered at load; applications add their own. An event whose type has no registered schema
 * passes through untouched, so the bus can carry events this package does not know. For a
 * known type, an unknown minor of a known major is read with the highest known minor below it
 * (minors only add fields, and schemas are loose); an unknown major is refused.
 *
 * @packageDocumentation
 */
import * as z from 'zod';
import type { BaseEvent } from './base.js';
import { DEFAULT_EVENT_VERSION } from './base.js';
import { deadLetterDataSchema } from './dead-letter.js';
import { SchemaConflictError, UnsupportedVersionError, ValidationError, type ValidationIssue } from './errors.js';
import { eventDataSchemas, laterEventDataSchemas } from './schemas.js';
import { assertPublishSubject, EventSubjects, subjectMatches } from './subjects.js';

// Header values cannot carry CR/LF (it would end the header line) or other control characters.
// eslint-disable-next-line no-control-regex -- control characters are exactly what we reject
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;
const headerSafe = z.string().regex(NO_CONTROL_CHARS, 'must not contain control characters (it travels in a header)');

const envelopeSchema = z.looseObject({
  eventId: headerSafe.min(1, 'must be a non-empty string'),
  eventType: z.string().superRefine((value, ctx) => {
    try {
      assertPublishSubject(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `must be a valid publish subject: ${(error as Error).message}` });
    }
  }),
  timestamp: z.date({ error: 'must be a valid Date' }),
  version: headerSafe.min(1, 'must be a non-empty string'),
  correlationId: headerSafe.optional(),
  causationId: headerSafe.optional(),
});

const isHeaderSafe = (value: unknown, required: boolean): boolean =>
  typeof value === 'string' ? (!required || value !== '') && NO_CONTROL_CHARS.test(value) : !required && value === undefined;

// The same checks as envelopeSchema without building a parse result: validation runs on every
// publish and receipt, and the schema is only needed to describe what is wrong.
function envelopeIsValid(record: Record<string, unknown>): boolean {
  const { eventId, eventType, timestamp, version, correlationId, causationId } = record;
  if (!isHeaderSafe(eventId, true) || !isHeaderSafe(version, true)) return false;
  if (!isHeaderSafe(correlationId, false) || !isHeaderSafe(causationId, false)) return false;
  if (!(timestamp instanceof Date) || Number.isNaN(timestamp.getTime()) || typeof eventType !== 'string') return false;
  try {
    assertPublishSubject(eventType);
    return true;
  } catch {
    return false;
  }
}

const key = (eventType: string, version: string): string => `${eventType}@${version}`;

const schemas = new Map<string, { eventType: string; version: string; schema: z.ZodType }>();
const MAX_PATTERN_LOOKUPS = 10_000;
const patternLookups = new Map<string, z.ZodType | undefined>();
const builtIn = new Set<string>();

// Subject patterns with a schema: DLQ records are published on dlq.<consumer>, one subject per consumer.
const patternSchemas: { pattern: string; version: string; schema: z.ZodType }[] = [
  { pattern: EventSubjects.DLQ_ALL, version: DEFAULT_EVENT_VERSION, schema: deadLetterDataSchema },
];

// The registered versions of each event type (patterns excluded), for resolving an unknown minor.
const versionsByType = new Map<string, Set<string>>();

// The data schema validateEvent resolved per eventType, then version: every publish and receipt
// asks, and the answer only changes when a schema is (un)registered, which forgets them all.
const dataSchemas = new Map<string, Map<string, z.ZodType | undefined>>();
let rememberedDataSchemas = 0;

function forgetDataSchemas(): void {
  dataSchemas.clear();
  rememberedDataSchemas = 0;
}

function dataSchemaOf(eventType: string, version: string): z.ZodType | undefined {
  const known = dataSchemas.get(eventType);
  if (known?.has(version) === true) return known.get(version);
  // An unsupported version throws here, and is not remembered.
  const schema = resolveEventSchema(eventType, version)?.schema;
  if (rememberedDataSchemas >= MAX_PATTERN_LOOKUPS) forgetDataSchemas();
  const byVersion = dataSchemas.get(eventType) ?? new Map<string, z.ZodType | undefined>();
  dataSchemas.set(eventType, byVersion.set(version, schema));
  rememberedDataSchemas += 1;
  return schema;
}

function store(eventType: string, version: string, schema: z.ZodType): void {
  forgetDataSchemas();
  schemas.set(key(eventType, version), { eventType, version, schema });
  const versions = versionsByType.get(eventType) ?? new Set<string>();
  versions.add(version);
  versionsByType.set(eventType, versions);
}

const builtInSchemas: [string, string, z.ZodType][] = [
  ...Object.entries(eventDataSchemas).map(([eventType, schema]): [string, string, z.ZodType] => [eventType, DEFAULT_EVENT_VERSION, schema]),
  ...Object.entries(laterEventDataSchemas).flatMap(([eventType, byVersion]) =>
    Object.entries(byVersion).map(([version, schema]): [string, string, z.ZodType] => [eventType, version, schema]),
  ),
];
for (const [eventType, version, schema] of builtInSchemas) {
  store(eventType, version, schema);
  builtIn.add(key(eventType, version));
}

/**
 * Registers the schema of `data` for an event type and version; `validateEvent` (and so every
 * publish and receipt) then checks it. Registering again replaces an application schema.
 *
 * @param eventType - the event subject, e.g. `'billing.invoice.paid'`
 * @param version - the data schema version, e.g. `'1.0'`
 * @param dataSchema - a zod schema of `data` (prefer `z.looseObject` so newer producers can add fields)
 * @throws {@link SubjectTokenError} when `eventType` is not a valid publish subject
 * @throws {@link SchemaConflictError} when it would replace a built-in platform schema
 */
export function registerEventSchema(eventType: string, version: string, dataSchema: z.ZodType): void {
  assertPublishSubject(eventType);
  if (typeof version !== 'string' || version === '' || !NO_CONTROL_CHARS.test(version)) {
    throw new ValidationError(eventType, typeof version === 'string' ? version : JSON.stringify(version), [
      { path: 'version', message: 'must be a non-empty string without control characters' },
    ]);
  }
  const k = key(eventType, version);
  if (builtIn.has(k) && schemas.get(k)?.schema !== dataSchema) throw new SchemaConflictError(eventType, version);
  store(eventType, version, dataSchema);
}

/**
 * Removes an application schema registered with {@link registerEventSchema} (built-in schemas
 * stay). Mostly for tests.
 *
 * @returns whether a schema was removed
 */
export function unregisterEventSchema(eventType: string, version: string): boolean {
  const k = key(eventType, version);
  if (builtIn.has(k)) return false;
  forgetDataSchemas();
  const versions = versionsByType.get(eventType);
  versions?.delete(version);
  if (versions?.size === 0) versionsByType.delete(eventType);
  return schemas.delete(k);
}

/**
 * The schema of `data` for an event type and version, if one is registered (DLQ subjects
 * `dlq.<consumer>` resolve to the DLQ record schema).
 */
export function getEventSchema(eventType: string, version: string): z.ZodType | undefined {
  const k = key(eventType, version);
  const exact = schemas.get(k);
  if (exact !== undefined) return exact.schema;
  // Every publish and receipt asks: remember pattern lookups (mostly "none") per type.
  if (patternLookups.has(k)) return patternLookups.get(k);
  if (patternLookups.size >= MAX_PATTERN_LOOKUPS) patternLookups.clear();
  const schema = patternSchemas.find((p) => p.version === version && subjectMatches(p.pattern, eventType))?.schema;
  patternLookups.set(k, schema);
  return schema;
}

/** A `major.minor` version, as numbers; undefined when `version` is not of that form. */
export function parseEventVersion(version: string): { major: number; minor: number } | undefined {
  const match = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/.exec(version);
  return match === null ? undefined : { major: Number(match[1]), minor: Number(match[2]) };
}

/**
 * The schema an event of (`eventType`, `version`) is read with: the one registered for that
 * version; else, for an unknown minor of a known major (`1.7` when `1.0` and `1.1` are
 * known), the highest registered minor below it, whose loose schema keeps the fields it does
 * not know. `undefined` when the type has no schema at all (it passes through untouched).
 *
 * @throws {@link UnsupportedVersionError} when the type is known but its version is not
 *   `major.minor` or names a major (or a minor below every known one) with no schema
 */
export function resolveEventSchema(eventType: string, version: string): { version: string; schema: z.ZodType } | undefined {
  const exact = getEventSchema(eventType, version);
  if (exact !== undefined) return { version, schema: exact };
  const known = versionsByType.get(eventType) ?? patternVersions(eventType);
  if (known === undefined || known.size === 0) return undefined;
  const wanted = parseEventVersion(version);
  let best: { version: string; minor: number } | undefined;
  for (const candidate of known) {
    const parsed = parseEventVersion(candidate);
    if (wanted === undefined || parsed === undefined || parsed.major !== wanted.major || parsed.minor > wanted.minor) continue;
    if (best === undefined || parsed.minor > best.minor) best = { version: candidate, minor: parsed.minor };
  }
  const schema = best === undefined ? undefined : getEventSchema(eventType, best.version);
  if (best === undefined || schema === undefined) throw new UnsupportedVersionError(eventType, version, [...known].sort());
  return { version: best.version, schema };
}

function patternVersions(eventType: string): Set<string> | undefined {
  const versions = patternSchemas.filter((p) => subjectMatches(p.pattern, eventType)).map((p) => p.version);
  return versions.length === 0 ? undefined : new Set(versions);
}

/** Every registered (eventType, version), built-in and application; DLQ appears as `dlq.*`. */
export function listEventSchemas(): { eventType: string; version: string }[] {
  return [
    ...[...schemas.values()].map(({ eventType, version }) => ({ eventType, version })),
    ...patternSchemas.map(({ pattern, version }) => ({ eventType: pattern, version })),
  ];
}

// 'data.items[2].id' reads better in a log line than a JSON array of keys.
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function toIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: formatPath([...prefix, ...issue.path]), message: issue.message }));
}

/**
 * Checks an event against its contract and returns it unchanged.
 *
 * The envelope: `eventId` a non-empty string, `eventType` a valid publish subject, `timestamp`
 * a valid `Date`, `version` a non-empty string, `correlationId`/`causationId` strings when
 * present (header-bound strings may not contain control characters). Then the `data` field,
 * against the schema {@link resolveEventSchema} picks for (`eventType`, `version`). Unknown
 * event types pass through.
 *
 * @returns the same event object (not a parsed copy: unknown fields and identity are kept)
 * @throws {@link ValidationError} listing every problem found, with readable paths
 * @throws {@link UnsupportedVersionError} when the type is known and the version is not readable
 */
export function validateEvent<E extends BaseEvent>(event: E): E {
  const record: Record<string, unknown> =
    typeof event === 'object' && event !== null ? (event as unknown as Record<string, unknown>) : {};
  const eventType = typeof record.eventType === 'string' ? record.eventType : '';
  const version = typeof record.version === 'string' ? record.version : '';
  const envelope = envelopeIsValid(record) ? undefined : envelopeSchema.safeParse(event);
  const issues: ValidationIssue[] = envelope === undefined || envelope.success ? [] : toIssues(envelope.error);

  const dataSchema = eventType === '' || version === '' ? undefined : dataSchemaOf(eventType, version);
  if (dataSchema !== undefined) {
    const data = dataSchema.safeParse(record.data);
    if (!data.success) issues.push(...toIssues(data.error, ['data']));
  }

  if (issues.length > 0) throw new ValidationError(eventType, version, issues);
  return event;
}

/**
 * The JSON Schema of every registered event's `data`, keyed `eventType@version`
 * (e.g. `workflow.execution.requested@1.0`), for documentation and other languages.
 */
export function eventJsonSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { eventType, version } of listEventSchemas()) {
    const schema = getEventSchema(eventType, version);
    if (schema !== undefined) out[key(eventType, version)] = z.toJSONSchema(schema, { unrepresentable: 'any' });
  }
  return out;
}
