package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh, fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: `Prints a script that makes the shell complete s3up's commands and flags.
File names complete as usual.

Examples:
  source <(s3up completion bash)                        # this bash session
  s3up completion bash > /etc/bash_completion.d/s3up    # every bash session
  s3up completion zsh > "${fpath[1]}/_s3up"             # zsh
  s3up completion fish > ~/.config/fish/completions/s3up.fish`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion needs one shell: bash, zsh or fish")
			}
			var script string
			switch c.Args().First() {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				s, err := fishCompletion()
				if err != nil {
					return err
				}
				script = s
			default:
				return usagef("completion: unknown shell %q (choose bash, zsh or fish)", c.Args().First())
			}
			_, err := fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// The scripts ask s3up itself for candidates (urfave/cli answers
// --generate-bash-completion with the commands or flags that fit), and fall
// back to file names, which is what SOURCE needs.
const bashCompletion = `# bash completion for s3up; load with: source <(s3up completion bash)
_s3up_complete() {
  local cur opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == -* ]]; then
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _s3up_complete s3up
`

const zshCompletion = `#compdef s3up
# zsh completion for s3up; install with: s3up completion zsh > "${fpath[1]}/_s3up"
# or load it in this session with: source <(s3up completion zsh)
compdef _s3up s3up
_s3up() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} "$cur" --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ -n "${opts[1]}" ]]; then
    _describe 'values' opts
  fi
  _files
}
# Autoloaded from fpath, the file is the body of _s3up: run it.
if [[ "$funcstack[1]" == "_s3up" ]]; then
  _s3up "$@"
fi
`
