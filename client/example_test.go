package client_test

// These examples run against a live gateway: TestMain builds qconnect and
// starts `qconnect serve` in demo mode on a random loopback port, and
// gatewayAddr holds its address (in your code: "localhost:8080").

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/internal/testenv"
	"github.com/qconnect/qconnect/protocol"

	"testing"
)

// gatewayAddr is the address of the gateway the examples talk to.
var gatewayAddr string

func TestMain(m *testing.M) {
	g, err := testenv.StartGatewayMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, "the examples need a gateway:", err)
		os.Exit(1)
	}
	gatewayAddr = g.Addr
	code := m.Run()
	g.Stop()
	os.Exit(code)
}

func ExampleClient_Login() {
	ctx := context.Background()
	c, err := client.New(gatewayAddr)
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
	fmt.Println("logged in as", s.Username, "for up to", s.IdleTimeout, "idle")
	// Output: logged in as kxSupport for up to 30m0s idle
}

func ExampleClient_Login_wrongPassword() {
	c, _ := client.New(gatewayAddr)
	_, err := c.Login(context.Background(), "kxSupport", "not-the-password")
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code)
	}
	// Output: 401 invalidCredentials
}

func ExampleSession_Call() {
	ctx := context.Background()
	c, _ := client.New(gatewayAddr)
	s, err := c.Login(ctx, "kxSupport", "12345678")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Logout(ctx)
	res, err := s.Call(ctx, "monPublic/getMem", map[string]any{
		"start": time.Now().Add(-time.Minute),
		"syms":  []string{"server_A", "server_B"},
	})
	if err != nil {
		log.Fatal(err)
	}
	var cols []string
	for _, col := range res.Columns {
		cols = append(cols, fmt.Sprintf("%s:%s", col.Name, col.Type))
	}
	fmt.Println(strings.Join(cols, " "))
	// Values are typed Go values; protocol.AppendText gives their text form.
	if _, ok := protocol.AppendText(nil, res.Columns[0].Type, res.Rows[0][0]); !ok {
		log.Fatal("the first time is null")
	}
	_, isTime := res.Rows[0][0].(time.Time)
	fmt.Println("typed values:", isTime, "truncated:", res.Truncated)
	// Output:
	// time:timestamp sym:symbol usedMB:float freeMB:float cpuLoad:float
	// typed values: true truncated: false
}

func ExampleSession_Stream() {
	ctx := context.Background()
	c, _ := client.New(gatewayAddr)
	s, err := c.Login(ctx, "kxSupport", "12345678")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Logout(ctx)
	st, err := s.Stream(ctx, "marketData/getVwap", nil, client.FormatCSV)
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "vwap.csv")
	f, err := os.Create(path + ".partial")
	if err != nil {
		log.Fatal(err)
	}
	_, copyErr := io.Copy(f, st)
	closeErr := st.Close() // the outcome: trailer, final line, success key or end marker
	if err := errors.Join(copyErr, closeErr, f.Close()); err != nil {
		os.Remove(path + ".partial")
		log.Fatal(err)
	}
	if err := os.Rename(path+".partial", path); err != nil {
		log.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	fmt.Printf("%s", data[:len("sym,vwap,volume\r\n")])
	// Output: sym,vwap,volume
}

func ExampleSession_Methods() {
	ctx := context.Background()
	c, _ := client.New(gatewayAddr)
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
		if m.Group == "monPublic" && !m.Streaming && len(m.Params) > 0 {
			fmt.Printf("%s(", m.FullName())
			for i, p := range m.Params {
				if i > 0 {
					fmt.Print(", ")
				}
				fmt.Print(p.Name)
			}
			fmt.Println(")")
		}
	}
	// Output:
	// monPublic/getMem(start, end, syms)
	// monPublic/getMemBucketed(start, end, syms, bucket)
}

func ExampleSession_Ping() {
	ctx := context.Background()
	c, _ := client.New(gatewayAddr)
	s, err := c.Login(ctx, "kxSupport", "12345678")
	if err != nil {
		log.Fatal(err)
	}
	info, err := s.Ping(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("idle timeout:", info.IdleTimeout, "expires in the future:", info.Expires.After(time.Now()))
	if err := s.Logout(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = s.Ping(ctx)
	var e *client.Error
	fmt.Println("after logout:", errors.As(err, &e) && e.Code == qconnect.CodeInvalidSession)
	// Output:
	// idle timeout: 30m0s expires in the future: true
	// after logout: true
}

func ExampleNewSigner() {
	// A Signer signs requests built by hand, for example to call a gateway
	// through another HTTP stack. The session id comes from a LoginResp.
	hc := &http.Client{Transport: client.NewSigner(http.DefaultTransport, "kxSupport", os.Getenv("SESSION_ID"))}
	_ = hc
}
