package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

const completionUsage = `Usage: qconnect completion bash|zsh

Prints a shell completion script for commands, flags and the methods of the
demo catalog's form (group/method). Load it in the current shell with
  source <(qconnect completion bash)
or add that line to ~/.bashrc. For zsh:
  source <(qconnect completion zsh)      (or save it as _qconnect in your $fpath)
`

// commandFlags lists the flags completed after each command.
var commandFlags = map[string]string{
	"serve":      "--help --config --listen --catalog --users --data --duckdb --demo --docs --log-format --log-level",
	"call":       "--help --params --format --csv -o --timeout",
	"methods":    "--help --format --timeout",
	"subscribe":  "--help --params --format --count",
	"publish":    "--help --file --format --batch --timeout",
	"users":      "--help add passwd remove list --users --groups --password-stdin",
	"login":      "--help --password-stdin --no-verify --timeout",
	"logout":     "--help --all",
	"version":    "--help",
	"completion": "bash zsh",
}

// runCompletion is qconnect completion bash|zsh.
func runCompletion(_ context.Context, e *env, args []string) error {
	if len(args) != 1 || args[0] == "-h" || args[0] == "--help" {
		if len(args) == 1 {
			io.WriteString(e.stdout, completionUsage)
			return nil
		}
		return usageErrorf("give the shell: qconnect completion bash, or qconnect completion zsh")
	}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	var cases strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&cases, "    %s) opts=%q ;;\n", c.name, commandFlags[c.name])
	}
	switch args[0] {
	case "bash":
		fmt.Fprintf(e.stdout, bashCompletion, strings.Join(names, " "), cases.String())
	case "zsh":
		fmt.Fprintf(e.stdout, zshCompletion, strings.Join(names, " "), cases.String())
	default:
		return usageErrorf("unsupported shell %q: give bash or zsh", args[0])
	}
	return nil
}

// bashCompletion completes the command, then its flags; file names after
// flags that take files.
const bashCompletion = `# bash completion for qconnect (qconnect completion bash)
_qconnect() {
  local cur prev opts
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "%s --help --version" -- "$cur") )
    return 0
  fi
  case "$prev" in
    --file|--csv|-o|--config|--catalog|--users|--data|--duckdb)
      COMPREPLY=( $(compgen -f -- "$cur") ); return 0 ;;
    --format)
      COMPREPLY=( $(compgen -W "table json csv ndjson arrow" -- "$cur") ); return 0 ;;
  esac
  opts=""
  case "${COMP_WORDS[1]}" in
%s  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  return 0
}
complete -o default -F _qconnect qconnect
`

const zshCompletion = `#compdef qconnect
# zsh completion for qconnect (qconnect completion zsh)
_qconnect() {
  local -a opts_
  local opts=""
  if (( CURRENT == 2 )); then
    compadd -- %s --help --version
    return
  fi
  case "${words[CURRENT-1]}" in
    --file|--csv|-o|--config|--catalog|--users|--data|--duckdb) _files; return ;;
    --format) compadd -- table json csv ndjson arrow; return ;;
  esac
  case "${words[2]}" in
%s  esac
  opts_=(${=opts})
  compadd -- $opts_
}
if [[ "$(whence -w compdef 2>/dev/null)" == *function* ]]; then
  compdef _qconnect qconnect
fi
`
