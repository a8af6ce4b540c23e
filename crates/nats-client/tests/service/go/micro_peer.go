// micro_peer: the nats.go side of the service interop test (crates/nats-client/tests/service/interop.rs).
//
//	micro_peer discover URL NAME ID SUBJECT  asks our Rust service through nats.go's micro
//	                                          control subjects and prints one JSON line
//	micro_peer serve URL                     runs a nats.go micro service, prints "ready ID",
//	                                          serves until stdin closes
//
// Built offline in GOPATH mode against Debian's golang-github-nats-io-go-nats-dev.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "micro_peer: "+format+"\n", args...)
	os.Exit(1)
}

func ask(nc *nats.Conn, verb micro.Verb, name, id string, into interface{}) map[string]interface{} {
	subject, err := micro.ControlSubject(verb, name, id)
	if err != nil {
		fail("control subject: %v", err)
	}
	msg, err := nc.Request(subject, nil, 5*time.Second)
	if err != nil {
		fail("%s: %v", subject, err)
	}
	if err := json.Unmarshal(msg.Data, into); err != nil {
		fail("%s: decode into micro type: %v", subject, err)
	}
	raw := map[string]interface{}{}
	if err := json.Unmarshal(msg.Data, &raw); err != nil {
		fail("%s: decode: %v", subject, err)
	}
	return raw
}

func discover(nc *nats.Conn, name, id, subject string) {
	var ping micro.Ping
	var info micro.Info
	var stats micro.Stats
	pingRaw := ask(nc, micro.PingVerb, name, "", &ping)
	infoRaw := ask(nc, micro.InfoVerb, name, id, &info)
	statsRaw := ask(nc, micro.StatsVerb, name, id, &stats)
	reply, err := nc.Request(subject, []byte("fail"), 5*time.Second)
	if err != nil {
		fail("%s: %v", subject, err)
	}
	out := map[string]interface{}{
		"ping":              ping,
		"ping_type":         pingRaw["type"],
		"info_name":         info.Name,
		"info_id":           info.ID,
		"info_description":  info.Description,
		"info_type":         infoRaw["type"],
		"info_endpoints":    infoRaw["endpoints"],
		"stats_id":          stats.ID,
		"stats_version":     stats.Version,
		"stats_type":        statsRaw["type"],
		"stats_endpoints":   statsRaw["endpoints"],
		"error_header":      reply.Header.Get(micro.ErrorHeader),
		"error_code_header": reply.Header.Get(micro.ErrorCodeHeader),
		"error_body":        string(reply.Data),
	}
	line, err := json.Marshal(out)
	if err != nil {
		fail("encode: %v", err)
	}
	fmt.Println(string(line))
}

func serve(nc *nats.Conn) {
	svc, err := micro.AddService(nc, micro.Config{
		Name:        "gosvc",
		Version:     "0.9.1",
		Description: "from go",
		Endpoint: micro.Endpoint{
			Subject: "go.echo",
			Handler: func(req *micro.Request) {
				if string(req.Data()) == "fail" {
					req.Error("418", "go says no", []byte("teapot"))
					return
				}
				req.Respond(req.Data())
			},
		},
	})
	if err != nil {
		fail("add service: %v", err)
	}
	if err := nc.Flush(); err != nil {
		fail("flush: %v", err)
	}
	fmt.Printf("ready %s\n", svc.Info().ID)
	// Serve until the test closes our stdin (or kills us).
	bufio.NewReader(os.Stdin).ReadString('\n')
	svc.Stop()
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: micro_peer discover URL NAME ID SUBJECT | serve URL")
	}
	nc, err := nats.Connect(os.Args[2])
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()
	switch os.Args[1] {
	case "discover":
		if len(os.Args) != 6 {
			fail("usage: micro_peer discover URL NAME ID SUBJECT")
		}
		discover(nc, os.Args[3], os.Args[4], os.Args[5])
	case "serve":
		serve(nc)
	default:
		fail("unknown mode %q", os.Args[1])
	}
}
