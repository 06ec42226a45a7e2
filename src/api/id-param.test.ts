import { describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { idFilter, idParam } from './id-param.js';

describe('ids from the URL', () => {
  const unknown = () => new AppError('no_such_id', {}, { params: { what: 'destination' } });

  it('passes an id of its kind through, and answers one of another kind as unknown', () => {
    const id = newId('dst');
    expect(idParam('dst', id, unknown)).toBe(id);
    for (const other of [newId('dlv'), 'dst', 'nope', '']) expect(() => idParam('dst', other, unknown)).toThrow('No destination has this id.');
  });

  it('reads an absent or empty filter as none and one of another kind as matching nothing', () => {
    expect(idFilter('src', undefined)).toBeUndefined();
    expect(idFilter('src', '')).toBeUndefined();
    expect(idFilter('src', 'src_a')).toBe('src_a');
    expect(idFilter('src', 'evt_a')).toBeNull();
  });
});
