package main

import (
	"io"

	"github.com/spf13/cobra"
)

// env is how commands read the environment, so tests can replace it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := &cobra.Command{
		Use:           "groundcrew",
		Short:         "groundcrew — the self-hosted Ops platform",
		Long:          "groundcrew runs the server (groundcrew serve) and talks to it from the command line.\nEvery command but serve and migrate uses the API: --server/--token, else GROUNDCREW_SERVER/GROUNDCREW_TOKEN, else the saved login.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(e), newMigrateCmd(e), newVersionCmd(e))
	addClientCommands(root, e)
	return root
}
