package main

import (
	"context"
	"errors"
)

// runCall is a placeholder until the call command lands; its owner replaces this file.
func runCall(ctx context.Context, e *env, args []string) error {
	return errors.New("call: not implemented yet")
}
