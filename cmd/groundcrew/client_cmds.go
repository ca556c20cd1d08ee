package main

import "github.com/spf13/cobra"

// addClientCommands adds the commands that talk to the API.
func addClientCommands(root *cobra.Command, e *env) {}
