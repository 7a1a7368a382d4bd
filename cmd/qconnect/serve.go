package main

import (
	"context"
	"errors"
)

// runServe is a placeholder until the serve command lands; its owner replaces this file.
func runServe(ctx context.Context, e *env, args []string) error {
	return errors.New("serve: not implemented yet")
}
