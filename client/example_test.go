package client_test

// These examples need a running gateway (qconnect serve), so they are
// compile-checked only and have no Output lines; the end-to-end test of the
// SDK against the real server lives in the server/e2e suite.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/protocol"
)

func ExampleClient_Login() {
	ctx := context.Background()
	c, err := client.New("localhost:8080")
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.Login(ctx, "kxSupport", "12345678")
	var e *client.Error
	switch {
	case errors.As(err, &e) && e.Code == qconnect.CodeInvalidCredentials:
		log.Fatal("check the username and password")
	case errors.Is(err, client.ErrUnreachable):
		log.Fatal("is the gateway running? start it with `qconnect serve`")
	case err != nil:
		log.Fatal(err)
	}
	defer s.Logout(ctx)
	fmt.Println("logged in as", s.Username, "until", s.Expires)
}

func ExampleSession_Call() {
	ctx := context.Background()
	c, _ := client.New("localhost:8080")
	s, err := c.Login(ctx, "kxSupport", "12345678")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Logout(ctx)
	res, err := s.Call(ctx, "monPublic/getMem", map[string]any{
		"start": time.Now().Add(-time.Hour),
		"syms":  []string{"server_A", "server_B"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, row := range res.Rows {
		for i, v := range row {
			text, _ := protocol.AppendText(nil, res.Columns[i].Type, v)
			fmt.Printf("%s=%s ", res.Columns[i].Name, text)
		}
		fmt.Println()
	}
	if res.Truncated {
		fmt.Println("(truncated at the method's row cap)")
	}
}

func ExampleSession_Stream() {
	ctx := context.Background()
	c, _ := client.New("localhost:8080")
	s, err := c.Login(ctx, "kxSupport", "12345678")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Logout(ctx)
	st, err := s.Stream(ctx, "monPublic/getMem", nil, client.FormatCSV)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create("getMem.csv.partial")
	if err != nil {
		log.Fatal(err)
	}
	_, copyErr := io.Copy(f, st)
	closeErr := st.Close() // the outcome: trailer, final line, success key or end marker
	if err := errors.Join(copyErr, closeErr, f.Close()); err != nil {
		os.Remove("getMem.csv.partial")
		log.Fatal(err)
	}
	if err := os.Rename("getMem.csv.partial", "getMem.csv"); err != nil {
		log.Fatal(err)
	}
}

func ExampleSession_Methods() {
	ctx := context.Background()
	c, _ := client.New("localhost:8080")
	s, err := c.Login(ctx, "kxSupport", "12345678")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Logout(ctx)
	methods, err := s.Methods(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range methods {
		fmt.Printf("%s — %s\n", m.FullName(), m.Description)
	}
}

func ExampleNewSigner() {
	// A Signer signs requests built by hand, for example to call a gateway
	// through another HTTP stack. The session id comes from a LoginResp.
	hc := &http.Client{Transport: client.NewSigner(http.DefaultTransport, "kxSupport", os.Getenv("SESSION_ID"))}
	_ = hc
}
