package main

import (
	"context"
	"errors"
	"path/filepath"

	"groundcrew.dev/groundcrew/bench/harness"
)

// binary returns the server binary to run: -bin, or one built now from
// the module in the current directory.
func binary(ctx context.Context, cfg config, work string) (string, error) {
	pkg := "./cmd/groundcrew"
	if cfg.profileDir != "" {
		pkg = "./bench/profserve"
		if cfg.bin != "" {
			return "", errors.New("-profile builds its own server; leave out -bin")
		}
	}
	if cfg.bin != "" {
		return filepath.Abs(cfg.bin)
	}
	return harness.Build(ctx, "apiload", pkg, work)
}
