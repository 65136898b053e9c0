package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// gendocsCommand writes the files the packages ship, all generated from the
// app itself so they cannot drift from --help: the man page and the bash, zsh
// and fish completions. The release runs it before building (.goreleaser.yaml
// before.hooks); it is hidden from help, the man page and completions.
func gendocsCommand() *cli.Command {
	return &cli.Command{
		Name:      "gendocs",
		Usage:     "write the man page and shell completions into DIR (used by the release); --readme FILE rewrites the README's exit codes",
		ArgsUsage: "DIR",
		Hidden:    true,
		Flags:     []cli.Flag{&cli.StringFlag{Name: "readme", Usage: "rewrite the exit code table of this README from the code"}},
		Action: func(c *cli.Context) error {
			if p := c.String("readme"); p != "" {
				return writeReadmeExitCodes(p)
			}
			if c.NArg() != 1 {
				return usagef("gendocs needs one output directory")
			}
			return writeDocs(c.Args().First())
		},
	}
}

// docFiles renders the generated files, by path relative to the output dir.
func docFiles() (map[string][]byte, error) {
	app := newApp(io.Discard, io.Discard)
	app.Setup() // adds the help command and the --help and --version flags, as a run does
	// urfave/cli's man page shows a command's UsageText but not its
	// Description; give each command's man section its synopsis and the
	// description --help prints (a multi-line UsageText renders verbatim).
	for _, cmd := range app.Commands {
		synopsis := strings.TrimSpace(fmt.Sprintf("%s %s [options] %s", app.Name, cmd.Name, cmd.ArgsUsage))
		if cmd.UsageText != "" {
			synopsis = cmd.UsageText
		}
		if cmd.Description != "" {
			synopsis += "\n\n" + cmd.Description
		}
		cmd.UsageText = synopsis
	}
	man, err := app.ToManWithSection(1)
	if err != nil {
		return nil, fmt.Errorf("man page: %w", err)
	}
	fish, err := fishCompletion()
	if err != nil {
		return nil, err
	}
	// gzip -n: no name and no time stamp, so the bytes depend on the text only.
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write([]byte(man)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return map[string][]byte{
		"man/s3up.1":            []byte(man),
		"man/s3up.1.gz":         gz.Bytes(),
		"completions/s3up.bash": []byte(bashCompletion),
		"completions/_s3up":     []byte(zshCompletion),
		"completions/s3up.fish": []byte(fish),
	}, nil
}

func writeDocs(dir string) error {
	files, err := docFiles()
	if err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fishCompletion renders the fish script from a fresh app: rendered from the
// running one it would also list the help subcommand urfave/cli adds to the
// command being run (completion), and list help twice.
func fishCompletion() (string, error) {
	app := newApp(io.Discard, io.Discard)
	app.Setup()
	s, err := app.ToFishCompletion()
	if err != nil {
		return "", fmt.Errorf("fish completion: %w", err)
	}
	return s, nil
}

// The README's exit code table lies between these markers.
const (
	readmeExitStart = "<!-- exit codes: generated from cmd/s3up/exit.go by `go run ./cmd/s3up gendocs --readme README.md`; edit them there -->\n"
	readmeExitEnd   = "<!-- end of exit codes -->"
)

// readmeWithExitCodes returns readme with its exit code table made from
// exitCodes.
func readmeWithExitCodes(readme string) (string, error) {
	before, rest, ok := strings.Cut(readme, readmeExitStart)
	if !ok {
		return "", fmt.Errorf("no exit code table marker in the README")
	}
	_, after, ok := strings.Cut(rest, readmeExitEnd)
	if !ok {
		return "", fmt.Errorf("no end of the exit code table in the README")
	}
	return before + readmeExitStart + exitCodesMarkdown() + readmeExitEnd + after, nil
}

func writeReadmeExitCodes(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := readmeWithExitCodes(string(b))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(out), 0o644)
}
