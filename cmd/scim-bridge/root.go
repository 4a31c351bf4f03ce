package main

import (
	"errors"
	"strconv"

	"github.com/spf13/cobra"
)

// newRootCmd assembles every sub-command. Each command lives in its own file
// and is listed here, so the whole command tree reads in one place.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "scim-bridge",
		Short:         "Keep every business application in step with the directory",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(), newSyncCmd(),
		newAppsCmd(), newMappingsCmd(),
		newBenchCmd(),
	)
	return root
}

// exitCode is an error that asks main to exit with a given status and print
// nothing more, for commands whose output already explains the failure.
type exitCode int

func (e exitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

func asExitCode(err error, target *exitCode) bool { return errors.As(err, target) }
