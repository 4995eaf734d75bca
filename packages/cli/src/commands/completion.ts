/**
 * `multi-agent completion bash|zsh`: a shell completion script generated from the command tree,
 * so it always knows every command and option.
 */
import type { Command } from 'commander';

/** One command path (`''`, `dlq`, `dlq purge`) and what may follow it. */
interface CompletionNode {
  path: string;
  words: { word: string; description: string }[];
}

/** Every command path of `program` with its subcommands and options (global ones included). */
export function completionTree(program: Command): CompletionNode[] {
  const globals = program.options.map((o) => ({ word: o.long ?? o.flags, description: o.description }));
  const nodes: CompletionNode[] = [];
  const walk = (command: Command, path: string): void => {
    const subcommands = command.commands.filter((c) => c.name() !== 'help');
    const own = command === program ? [] : command.options.map((o) => ({ word: o.long ?? o.flags, description: o.description }));
    nodes.push({
      path,
      words: [...subcommands.map((c) => ({ word: c.name(), description: c.description() })), ...own, ...globals, { word: '--help', description: 'show help' }],
    });
    for (const sub of subcommands) walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
  };
  walk(program, '');
  return nodes;
}

const shellWord = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** The bash script: `source <(multi-agent completion bash)`. */
export function bashCompletion(program: Command): string {
  const nodes = completionTree(program);
  const name = program.name();
  const fn = `_${name.replace(/\W/g, '_')}_complete`;
  const paths = nodes.filter((n) => n.path !== '').map((n) => `" ${n.path}"`);
  return [
    `# bash completion for ${name}: source <(${name} completion bash)`,
    `${fn}() {`,
    '  local cur="${COMP_WORDS[COMP_CWORD]}" cmdpath="" word i',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word="${COMP_WORDS[i]}"',
    `    case "$cmdpath $word" in ${paths.join('|')}) cmdpath="$cmdpath $word" ;; esac`,
    '  done',
    '  local candidates=""',
    '  case "$cmdpath" in',
    ...nodes.map((n) => `    "${n.path === '' ? '' : ` ${n.path}`}") candidates=${shellWord(n.words.map((w) => w.word).join(' '))} ;;`),
    '  esac',
    '  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))',
    '}',
    `complete -F ${fn} ${name}`,
    '',
  ].join('\n');
}

/** The zsh script: `source <(multi-agent completion zsh)`, or save it as `_multi-agent` on `$fpath`. */
export function zshCompletion(program: Command): string {
  const nodes = completionTree(program);
  const name = program.name();
  const fn = `_${name.replace(/\W/g, '_')}`;
  const paths = nodes.filter((n) => n.path !== '').map((n) => `" ${n.path}"`);
  const described = (n: CompletionNode): string => n.words.map((w) => shellWord(`${w.word.replace(/:/g, '\\:')}:${w.description.replace(/:/g, '\\:')}`)).join(' ');
  return [
    `#compdef ${name}`,
    `# zsh completion for ${name}: source <(${name} completion zsh)`,
    `${fn}() {`,
    // `path` is zsh's own array (tied to PATH): the command path is `cmdpath`.
    '  local cmdpath="" word i',
    '  local -a candidates',
    '  for ((i = 2; i < CURRENT; i++)); do',
    '    word=${words[i]}',
    `    case "$cmdpath $word" in (${paths.join('|')}) cmdpath="$cmdpath $word" ;; esac`,
    '  done',
    '  case "$cmdpath" in',
    ...nodes.map((n) => `    ("${n.path === '' ? '' : ` ${n.path}`}") candidates=(${described(n)}) ;;`),
    '  esac',
    `  _describe -t commands ${shellWord(name)} candidates`,
    '}',
    `compdef ${fn} ${name}`,
    '',
  ].join('\n');
}
