package main

import (
	"context"
	"errors"
)

// runMethods is a placeholder until the methods command lands; its owner replaces this file.
func runMethods(ctx context.Context, e *env, args []string) error {
	return errors.New("methods: not implemented yet")
}
