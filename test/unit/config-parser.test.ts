import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigSource } from '../../src/config/parser.js';
import type { ItemNode, ValueNode } from '../../src/config/ast.js';

/** The tree without positions: values as strings, lists as arrays, maps as [k, v] pairs. */
function shape(items: readonly ItemNode[]): unknown[] {
  const value = (v: ValueNode): unknown => {
    if (v.kind === 'scalar') return v.quoted ? `"${v.text}"` : v.text;
    if (v.kind === 'list') return v.items.map(value);
    return { map: v.entries.map((e) => [e.key.text, value(e.value)]) };
  };
  return items.map((item) => {
    if (item.kind === 'option') return { [item.key]: value(item.value) };
    if (item.kind === 'include') return { include: item.path.text };
    return { scope: item.key, name: item.name?.text, items: shape(item.items) };
  });
}

function errorsOf(text: string): string[] {
  return parseConfigSource(text, 'f.conf').errors.map((e) => `${e.line}:${e.column} ${e.message}`);
}

test('parser: options, lists, maps and nested scopes', () => {
  const text = `
    Max_Message_Size = 1024
    name = "quoted value"
    Relay_Hosts = ( 127.0.0.0/8 "10.0.0.0/8" ( nested ) )
    code = [ "0" = "250 ok" 100 = "550 failed" dotted.key = [ a = b ] ]
    empty_list = ( )
    empty_map = [ ]
    ESMTP_Listener {
      Listen ":25" { Peer "10.0.0.0/16" { } }
    }
    pipe_transport bare_name { }
  `;
  const parsed = parseConfigSource(text, 'f.conf');
  assert.deepEqual(parsed.errors, []);
  assert.deepEqual(shape(parsed.items), [
    { max_message_size: '1024' },
    { name: '"quoted value"' },
    { relay_hosts: ['127.0.0.0/8', '"10.0.0.0/8"', ['nested']] },
    { code: { map: [['0', '"250 ok"'], ['100', '"550 failed"'], ['dotted.key', { map: [['a', 'b']] }]] } },
    { empty_list: [] },
    { empty_map: { map: [] } },
    {
      scope: 'esmtp_listener',
      name: undefined,
      items: [{ scope: 'listen', name: ':25', items: [{ scope: 'peer', name: '10.0.0.0/16', items: [] }] }],
    },
    { scope: 'pipe_transport', name: 'bare_name', items: [] },
  ]);
});

test('parser: a scope\'s "{" may sit on the next line', () => {
  const parsed = parseConfigSource('pipe_transport "a"\n{\n  x = 1\n}\nESMTP_Listener\n\n{ }\n', 'f.conf');
  assert.deepEqual(parsed.errors, []);
  assert.deepEqual(shape(parsed.items), [
    { scope: 'pipe_transport', name: 'a', items: [{ x: '1' }] },
    { scope: 'esmtp_listener', name: undefined, items: [] },
  ]);
});

test('parser: names compare lower-cased but keep their spelling; positions on every node', () => {
  const parsed = parseConfigSource('PIPE_Transport "Demo" {\n  Program_NAME = /bin/cat\n}', 'f.conf');
  const [scope] = parsed.items;
  assert.ok(scope?.kind === 'scope');
  assert.equal(scope.key, 'pipe_transport');
  assert.equal(scope.type, 'PIPE_Transport');
  assert.equal(scope.name?.text, 'Demo');
  assert.deepEqual(scope.position, { file: 'f.conf', line: 1, column: 1 });
  assert.deepEqual(scope.name?.position, { file: 'f.conf', line: 1, column: 16 });
  const [option] = scope.items;
  assert.ok(option?.kind === 'option');
  assert.equal(option.key, 'program_name');
  assert.equal(option.name, 'Program_NAME');
  assert.deepEqual(option.position, { file: 'f.conf', line: 2, column: 3 });
  assert.deepEqual(option.value.position, { file: 'f.conf', line: 2, column: 18 });
});

test('parser: include and readonly_include, bare or quoted, in any scope', () => {
  const parsed = parseConfigSource('include "a.conf"\nx { Readonly_Include conf.d }', 'f.conf');
  assert.deepEqual(parsed.errors, []);
  assert.deepEqual(shape(parsed.items), [
    { include: 'a.conf' },
    { scope: 'x', name: undefined, items: [{ include: 'conf.d' }] },
  ]);
});

test('parser: each syntax error names what was expected, at its line:column', () => {
  const cases: Array<[string, string]> = [
    ['program_name "/bin/cat"', '1:14 expected "=" or "{" after "program_name", got string "/bin/cat"'],
    ['program_name\nx = 1', '1:1 expected "=" or "{" after "program_name", got "x"'],
    ['a = ', '1:5 expected a value after "a =", got end of file'],
    ['"x" = 1', '1:1 expected an option or stanza name, got string "x"'],
    ['}', '1:1 unexpected "}" with no "{" open'],
    ['a = ( b\nc = 1', '2:3 expected ")" to close the list opened at 1:5, got "="'],
    ['a = [ k v ]', '1:9 expected "=" after map key "k", got "v"'],
    ['a = [ k = ]', '1:11 expected a value after map key "k" =, got "]"'],
    ['a = [ ( ) ]', '1:7 expected "]" to close the map opened at 1:5, got "("'],
    ['include', '1:8 expected a path after "include", got end of file'],
  ];
  for (const [input, expected] of cases) {
    assert.deepEqual(errorsOf(input), [expected], input);
  }
  // The "}" is then stray at top level: reported too, as it would be on its own.
  assert.deepEqual(errorsOf('a = }'), ['1:5 expected a value after "a =", got "}"', '1:5 unexpected "}" with no "{" open']);
});

test('parser: an unclosed "{" is reported at the end of the file with where it opened', () => {
  const text = 'ESMTP_Listener {\n  Listen ":25" {\n}\n';
  assert.deepEqual(errorsOf(text), ['4:1 unclosed "{" opened at 1:16 (ESMTP_Listener)']);
  assert.deepEqual(errorsOf('pipe_transport "demo" {\n  domain = x\n'), [
    '3:1 unclosed "{" opened at 1:23 (pipe_transport "demo")',
  ]);
});

test('parser: every error of a file is collected, and good items around them survive', () => {
  const text = [
    'pipe_transport "a" {', //   1
    '  program_name "/bin/cat"', // 2: missing "="
    '  domain = ( "a.example" )', // 3: fine
    '  timeout = = 5', //          4: two "="
    '  output_file', //            5: name alone
    '  eol = lf', //               6: fine
    '}', //                        7
    '}', //                        8: stray
    'x = "unterminated', //        9
    'y = 1', //                    10: fine
  ].join('\n');
  const parsed = parseConfigSource(text, 'f.conf');
  assert.deepEqual(
    parsed.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code}`),
    [
      'f.conf:2:16 ERR_CONFIG_SYNTAX',
      'f.conf:4:13 ERR_CONFIG_SYNTAX',
      'f.conf:5:3 ERR_CONFIG_SYNTAX',
      'f.conf:8:1 ERR_CONFIG_SYNTAX',
      'f.conf:9:5 ERR_CONFIG_SYNTAX',
    ],
  );
  assert.deepEqual(shape(parsed.items), [
    { scope: 'pipe_transport', name: 'a', items: [{ domain: ['"a.example"'] }, { eol: 'lf' }] },
    { x: '"unterminated"' },
    { y: '1' },
  ]);
});

test('parser: recovery skips a whole { } block begun on a bad line', () => {
  const text = 'pipe_transport "a" "b" {\n  x = 1\n}\ny = 2\n';
  const parsed = parseConfigSource(text, 'f.conf');
  assert.deepEqual(errorsOf(text), ['1:16 expected "=" or "{" after "pipe_transport", got string "a"']);
  assert.deepEqual(shape(parsed.items), [{ y: '2' }]);
});

test('parser: a list written with commas says lists are space-separated, at the comma', () => {
  assert.deepEqual(errorsOf('domain = ( "a.test", "b.test" )'), [
    '1:20 lists are space-separated: remove the comma in "," (write ( "a" "b" ), not ( "a", "b" ))',
  ]);
  assert.deepEqual(errorsOf('domain = ( a.test, b.test )'), [
    '1:12 lists are space-separated: remove the comma in "a.test," (write ( "a" "b" ), not ( "a", "b" ))',
  ]);
  // A comma inside a quoted string is that string's business.
  assert.deepEqual(errorsOf('env = [ LIST = "a,b" ]  x = ( "a,b" )'), []);
});
