package main

import (
	"context"
	"errors"
)

// runUsers is a placeholder until the users command lands; its owner replaces this file.
func runUsers(ctx context.Context, e *env, args []string) error {
	return errors.New("users: not implemented yet")
}
