/**
 * processor/config/partition-template: compiling Hive-style partition templates and rendering them
 * per event, with the edge cases of numbers, nulls, escapes and UTC dates, and every syntax error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PARTITION_TEMPLATE } from '../../processor/sinks/s3/properties.js';
import { HIVE_DEFAULT_PARTITION, PartitionTemplateError, PartitionValueError, compilePartitionTemplate, escapePathName } from '../../processor/config/index.js';
import { MAX_MEMOISED_PATHS } from '../../processor/config/partition-template.js';

const JOB = { jobStartMs: 1_700_000_000_123 };

/** Renders a template for one event given as a plain object. */
function render(template: string, event: Record<string, unknown>, fieldNames?: readonly string[]): string {
  return compilePartitionTemplate(template, fieldNames).render((name) => event[name], JOB);
}

function syntaxError(template: string, position: number, problem: RegExp, fieldNames?: readonly string[]): void {
  assert.throws(
    () => compilePartitionTemplate(template, fieldNames),
    (error: unknown) => {
      assert.ok(error instanceof PartitionTemplateError, String(error));
      assert.equal(error.template, template);
      assert.equal(error.position, position);
      assert.match(error.problem, problem);
      assert.ok(error.message.startsWith(`partition template "${template}" at position ${position}: `), error.message);
      return true;
    },
  );
}

describe('the default template', () => {
  test('pickup_location_id 41 at 2018-01-01T02:21:05Z gives pickup_location=041/year=2018/month=01/', () => {
    // Given
    const event = { pickup_location_id: 41, pickup_datetime: Date.parse('2018-01-01T02:21:05Z') };
    // When
    const compiled = compilePartitionTemplate(DEFAULT_PARTITION_TEMPLATE, ['pickup_location_id', 'pickup_datetime', 'trip_id']);
    // Then
    assert.equal(compiled.render((name) => event[name as keyof typeof event], JOB), 'pickup_location=041/year=2018/month=01/');
    assert.deepEqual(compiled.fields, ['pickup_location_id', 'pickup_datetime']);
    assert.equal(compiled.usesJobStart, false);
  });

  test('compiled once, it renders many events and reads each field through getField', () => {
    const compiled = compilePartitionTemplate(DEFAULT_PARTITION_TEMPLATE);
    const asked: string[] = [];
    const paths = [0, 1, 2].map((index) =>
      compiled.render((name) => {
        asked.push(name);
        return name === 'pickup_location_id' ? 100 + index : Date.UTC(2020, index * 5, 1);
      }, JOB),
    );
    assert.deepEqual(paths, ['pickup_location=100/year=2020/month=01/', 'pickup_location=101/year=2020/month=06/', 'pickup_location=102/year=2020/month=11/']);
    assert.deepEqual(asked.slice(0, 3), ['pickup_location_id', 'pickup_datetime', 'pickup_datetime']);
  });
});

describe('integers: %d and %0Nd', () => {
  for (const [format, value, expected] of [
    ['%03d', 41, '041'],
    ['%03d', 1234, '1234'],
    ['%03d', 0, '000'],
    ['%03d', -5, '-05'],
    ['%03d', -41, '-41'],
    ['%04d', -41, '-041'],
    ['%03d', -1234, '-1234'],
    ['%d', -7, '-7'],
    ['%d', 42, '42'],
    ['%05d', 42n, '00042'],
    ['%05d', -42n, '-0042'],
    ['%d', 9007199254740993n, '9007199254740993'],
    ['%03d', '7', '007'],
    ['%03d', '-7', '-07'],
    ['%d', 1e21, '1000000000000000000000'],
    ['%03d', -0, '000'],
  ] as const) {
    test(`${String(value)}${typeof value === 'bigint' ? 'n' : ''} (${typeof value}) with ${format} is "${expected}"`, () => {
      assert.equal(render(`v={x:${format}}`, { x: value }), `v=${expected}/`);
    });
  }

  test('null, a missing field and "" give the Hive default partition', () => {
    assert.equal(render('v={x:%03d}/', { x: null }), `v=${HIVE_DEFAULT_PARTITION}/`);
    assert.equal(render('v={x:%03d}/', {}), `v=${HIVE_DEFAULT_PARTITION}/`);
    assert.equal(render('v={x:%03d}/', { x: '' }), `v=${HIVE_DEFAULT_PARTITION}/`);
  });

  for (const value of [4.5, 'abc', true, Number.NaN]) {
    test(`${String(value)} cannot be rendered with %03d: a PartitionValueError naming the field`, () => {
      assert.throws(
        () => render('v={x:%03d}/', { x: value }),
        (error: unknown) => error instanceof PartitionValueError && error.field === 'x' && /%d needs an integer/.test(error.message) && !error.retriable,
      );
    });
  }
});

describe('plain values', () => {
  for (const [value, expected] of [
    ['yellow', 'yellow'],
    [42, '42'],
    [-1.5, '-1.5'],
    [12345678901234567890n, '12345678901234567890'],
    [true, 'true'],
    [false, 'false'],
    [null, HIVE_DEFAULT_PARTITION],
    ['', HIVE_DEFAULT_PARTITION],
    [undefined, HIVE_DEFAULT_PARTITION],
  ] as const) {
    test(`${JSON.stringify(typeof value === 'bigint' ? `${value}n` : value) ?? 'undefined'} renders as "${expected}"`, () => {
      assert.equal(render('t={x}/', { x: value }), `t=${expected}/`);
    });
  }

  test('strings are escaped like Hive: "/", "=", "%", ":", control characters and the rest of its set, upper-case hex', () => {
    assert.equal(render('t={x}/', { x: 'a/b=c%d' }), 't=a%2Fb%3Dc%25d/');
    assert.equal(render('t={x}/', { x: '2018-01-01 02:21:05' }), 't=2018-01-01 02%3A21%3A05/');
    assert.equal(render('t={x}/', { x: 'tab\there\nnl\u0001\u007f' }), 't=tab%09here%0Anl%01%7F/');
    assert.equal(escapePathName(`"#'*?\\{[]^`), '%22%23%27%2A%3F%5C%7B%5B%5D%5E');
    assert.equal(escapePathName('café ok-_.~'), 'café ok-_.~');
  });

  test('an escaped value never creates a path segment', () => {
    const path = render('a={x}/b={y}/', { x: '../../etc', y: '/' });
    assert.equal(path, 'a=..%2F..%2Fetc/b=%2F/');
    assert.equal(path.split('/').length, 3);
  });
});

describe('dates: UTC from epoch milliseconds', () => {
  const at = (iso: string): number => Date.parse(iso);

  test('each token and combinations', () => {
    const event = { t: at('2018-03-04T05:06:07.089Z') };
    assert.equal(render('{t:yyyy}/{t:MM}/{t:dd}/{t:HH}/', event), '2018/03/04/05/');
    assert.equal(render('day={t:yyyy-MM-dd}/hour={t:HH}/', event), 'day=2018-03-04/hour=05/');
    assert.equal(render('ts={t:yyyy.MM.dd_HH-mm-ss}/', event), 'ts=2018.03.04_05-06-07/');
    assert.equal(render('ym={t:yyyyMM}/', event), 'ym=201803/');
  });

  test('Dec 31 23:59:59.999 UTC and the next millisecond, Jan 1, fall in different years', () => {
    const template = 'year={t:yyyy}/month={t:MM}/day={t:dd}/hour={t:HH}/';
    assert.equal(render(template, { t: at('2018-12-31T23:59:59.999Z') }), 'year=2018/month=12/day=31/hour=23/');
    assert.equal(render(template, { t: at('2019-01-01T00:00:00.000Z') }), 'year=2019/month=01/day=01/hour=00/');
  });

  test('the renderer switches day correctly when consecutive events cross midnight (day cache)', () => {
    const compiled = compilePartitionTemplate('d={t:yyyy-MM-dd}/h={t:HH}/');
    const times = ['2020-02-28T23:00:00Z', '2020-02-28T23:59:59.999Z', '2020-02-29T00:00:00Z', '2020-02-28T12:00:00Z', '2020-03-01T00:00:00Z'];
    assert.deepEqual(
      times.map((iso) => compiled.render(() => at(iso), JOB)),
      ['d=2020-02-28/h=23/', 'd=2020-02-28/h=23/', 'd=2020-02-29/h=00/', 'd=2020-02-28/h=12/', 'd=2020-03-01/h=00/'],
    );
  });

  test('dates before 1970 (negative epoch ms) use the right day and hour', () => {
    assert.equal(render('{t:yyyy-MM-dd}/{t:HH}/', { t: -1 }), '1969-12-31/23/');
    assert.equal(render('{t:yyyy-MM-dd}/{t:HH}/', { t: at('1969-07-20T20:17:40Z') }), '1969-07-20/20/');
    assert.equal(render('{t:yyyy-MM-dd}/{t:HH-mm-ss}/', { t: at('1900-01-01T00:00:00.500Z') }), '1900-01-01/00-00-00/');
    assert.equal(render('{t:yyyy}/', { t: at('0099-06-01T00:00:00Z') }), '0099/');
  });

  test('a bigint epoch and the epoch itself', () => {
    assert.equal(render('{t:yyyy-MM-dd}/', { t: BigInt(at('2018-01-01T00:00:00Z')) }), '2018-01-01/');
    assert.equal(render('{t:yyyy-MM-dd-HH}/', { t: 0 }), '1970-01-01-00/');
  });

  test('null gives the Hive default partition; text or an out-of-range number is a PartitionValueError', () => {
    assert.equal(render('y={t:yyyy}/', { t: null }), `y=${HIVE_DEFAULT_PARTITION}/`);
    for (const bad of ['2018-01-01', Number.POSITIVE_INFINITY, 9e15, true]) {
      assert.throws(() => render('y={t:yyyy}/', { t: bad }), (error: unknown) => error instanceof PartitionValueError && error.field === 't', String(bad));
    }
  });
});

describe('{job_start}', () => {
  test('renders the job start time, with or without a format, and is not an event field', () => {
    const compiled = compilePartitionTemplate('job_start={job_start}/', ['a']);
    assert.equal(compiled.render(() => 'ignored', JOB), 'job_start=1700000000123/');
    assert.equal(compiled.usesJobStart, true);
    assert.deepEqual(compiled.fields, []);
    assert.equal(render('d={job_start:yyyy-MM-dd}/', {}), 'd=2023-11-14/');
  });
});

describe('path shape', () => {
  for (const [template, expected] of [
    ['a={x}', 'a=1/'],
    ['{x}', '1/'],
    ['/a={x}/', 'a=1/'],
    ['//a={x}//b={x}//', 'a=1/b=1/'],
    ['static', 'static/'],
    ['static/', 'static/'],
    ['', ''],
    ['/', ''],
  ] as const) {
    test(`"${template}" renders as "${expected}"`, () => {
      assert.equal(render(template, { x: 1 }), expected);
    });
  }
});

describe('syntax errors name the template and the position', () => {
  test('unclosed brace at the end', () => syntaxError('a={x/', 2, /unclosed '\{'/));
  test('a brace opened inside a field', () => syntaxError('a={x{y}}/', 2, /unclosed '\{'/));
  test("a '}' without '{'", () => syntaxError('a=x}/', 3, /'}' without a matching '\{'/));
  test('empty field name', () => syntaxError('a={}/', 3, /empty field name in "\{\}"/));
  test('empty field name before a format', () => syntaxError('a/b={:yyyy}/', 5, /empty field name in "\{:yyyy\}"/));
  test('a field name with a space', () => syntaxError('a={ x }/', 3, /field name " x " contains whitespace/));
  test('an empty format', () => syntaxError('a={x:}/', 5, /empty format after "x:"/));
  for (const [format, position] of [
    ['%5d', 5],
    ['%s', 5],
    ['%03x', 5],
    ['yy', 5],
    ['YYYY', 5],
    ['yyyy/MM', 5],
    ['-', 5],
    ['%0100d', 5],
  ] as const) {
    test(`unknown format "${format}"`, () => syntaxError(`a={x:${format}}/`, position, /unknown format/));
  }
  test('a width over 32', () => syntaxError('a={x:%033d}/', 5, /width 33 .* is over 32/));
  test('an unknown field, when the schema fields are given', () => syntaxError('a={a}/b={nope}/', 9, /unknown field "nope" \(the schema's fields: a, b\)/, ['a', 'b']));
  test('without schema fields any name compiles', () => {
    assert.deepEqual(compilePartitionTemplate('a={nope}/').fields, ['nope']);
  });
});

/** What `render` gives for an event (the path, or the error's class and message). */
function outcome(fn: () => string): string {
  try {
    return fn();
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

describe('valuesRenderer: memoised, the same paths and errors as render', () => {
  const DAY = 86_400_000;
  // Edge values for every kind of part, several mapping to the same memo key (same day, -0 and 0).
  const values: unknown[] = [
    0, -0, 1, -1, 41, 41.5, -41, 1234, 2 ** 53, 2 ** 53 + 2, -(2 ** 60), 1e21, Number.NaN, Number.POSITIVE_INFINITY,
    9007199254740993n, -42n, 0n, '', '7', '-7', 'a/b', 'x=y#%', 'Zürich', 'ümlaut/ß', '\u0001', 'abc', true, false, null, undefined,
    Date.UTC(2018, 0, 1, 2, 21, 5), Date.UTC(2018, 0, 1, 23, 59, 59, 999), Date.UTC(2018, 0, 2), Date.UTC(2018, 0, 1, 2, 21, 5) + 0.75,
    -1, -DAY, -DAY - 1, -DAY + 1, Date.UTC(1969, 11, 31, 23, 59, 59), Date.UTC(-1, 0, 1), 8.64e15, -8.64e15, 8.64e15 + 1, -8.64e15 - 0.5,
    Date.UTC(2024, 1, 29, 13, 0, 0), Date.UTC(2024, 1, 29, 13, 59, 59, 999), Date.UTC(2024, 1, 29, 14), new Date(Date.UTC(2020, 4, 5)), { a: 1 },
  ];
  const templates = [
    DEFAULT_PARTITION_TEMPLATE,
    'a={a}/b={b}/',
    'a={a:%03d}/t={b:yyyy-MM-dd}/h={b:HH}/',
    't={b:yyyy}/m={b:mm}/s={b:ss}/',
    'a={a:%05d}/a2={a}/',
    'j={job_start}/a={a:yyyy-MM-dd_HH.mm.ss}/',
    'static/',
    'j={job_start:yyyy}/',
    'missing={nope}/a={a}/',
  ];
  const names = ['a', 'b', 'pickup_location_id', 'pickup_datetime'];
  const indexOf = (name: string): number => names.indexOf(name);

  for (const template of templates) {
    test(`"${template}": every pair of edge values, twice over, as render gives them`, () => {
      const compiled = compilePartitionTemplate(template);
      const memoised = compiled.valuesRenderer(indexOf, JOB);
      let compared = 0;
      for (let pass = 0; pass < 2; pass += 1) {
        for (const x of values) {
          for (const y of values) {
            const event = [x, y, x, y];
            const expected = outcome(() => compiled.render((name) => event[indexOf(name)], JOB));
            assert.equal(outcome(() => memoised(event)), expected, `${template} with ${String(x)}, ${String(y)}`);
            compared += 1;
          }
        }
      }
      assert.equal(compared, 2 * values.length ** 2);
    });
  }

  test('a memoised path is the same string object as before; a new value still renders anew', () => {
    const memoised = compilePartitionTemplate(DEFAULT_PARTITION_TEMPLATE).valuesRenderer(indexOf, JOB);
    const at = Date.UTC(2018, 0, 1, 2);
    const first = memoised([0, 0, 41, at]);
    assert.equal(first, 'pickup_location=041/year=2018/month=01/');
    assert.equal(memoised([0, 0, 41, at + 3_600_000]), first);
    assert.equal(memoised([0, 0, 41, at + 40 * DAY]), 'pickup_location=041/year=2018/month=02/');
    assert.equal(memoised([0, 0, 42, at]), 'pickup_location=042/year=2018/month=01/');
  });

  test(`after ${MAX_MEMOISED_PATHS} paths the memo starts over and the paths stay right`, () => {
    const memoised = compilePartitionTemplate('a={a}/').valuesRenderer(indexOf, JOB);
    for (let round = 0; round < 2; round += 1) {
      for (let i = 0; i < MAX_MEMOISED_PATHS + 10; i += 1) assert.equal(memoised([i]), `a=${i}/`);
    }
  });
});
