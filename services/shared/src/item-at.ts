/** Indexing a list at a position the caller's own logic guarantees, without a blind `!`. */

/**
 * `list[index]`, which the caller knows exists (a bounded loop, a length checked above).
 *
 * @throws RangeError when it does not: a bug in the caller, reported where it happened
 */
export function itemAt<T>(list: ArrayLike<T>, index: number): T {
  const item = list[index];
  if (item === undefined) throw new RangeError(`index ${index} is outside a list of ${list.length}`);
  return item;
}
