package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// message is one webhook message the receiver got.
type message struct {
	at      time.Time
	contact string   // the path without its slash: u00 …
	pages   []string // page ids, in the order of the body
}

// pageSeen is what the receiver knows of one page.
type pageSeen struct {
	first    time.Time
	times    int    // messages that carried it
	service  string // its service label
	team     string // its team label
	contacts map[string]bool
}

// receiver is the loopback webhook receiver of every person's contact
// method: it records every message and the pages it carries. Safe for
// concurrent use.
type receiver struct {
	srv  *http.Server
	url  string // http://127.0.0.1:PORT
	mu   sync.Mutex
	msgs []message
	seen map[string]*pageSeen
	bad  []string // the first malformed messages
	max  int      // messages kept at most
}

// startReceiver listens on 127.0.0.1; it keeps at most max messages.
func startReceiver(max int) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String(), seen: map[string]*pageSeen{}, max: max}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// webhookBody is the little of Alertmanager's v4 webhook body the
// receiver reads.
type webhookBody struct {
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// ServeHTTP takes one message.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, err := io.ReadAll(io.LimitReader(req.Body, 16<<20))
	if err == nil {
		err = r.record(now, strings.TrimPrefix(req.URL.Path, "/"), body)
	}
	if err != nil {
		r.mu.Lock()
		if len(r.bad) < 5 {
			r.bad = append(r.bad, err.Error())
		}
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// record parses one message to contact and adds it.
func (r *receiver) record(at time.Time, contact string, body []byte) error {
	var m webhookBody
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("message to %s: %w", contact, err)
	}
	msg := message{at: at, contact: contact}
	for i, a := range m.Alerts {
		id := a.Labels["page"]
		if id == "" {
			return fmt.Errorf("message to %s: alert %d has no page label", contact, i)
		}
		msg.pages = append(msg.pages, id)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) >= r.max {
		return fmt.Errorf("more than %d messages", r.max)
	}
	r.msgs = append(r.msgs, msg)
	for i, id := range msg.pages {
		p := r.seen[id]
		if p == nil {
			a := m.Alerts[i]
			p = &pageSeen{first: at, service: a.Labels["service"], team: a.Labels["team"], contacts: map[string]bool{}}
			r.seen[id] = p
		}
		p.times++
		p.contacts[contact] = true
	}
	return nil
}

// pages returns how many distinct pages arrived.
func (r *receiver) pages() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// snapshot returns copies of the messages and pages so far.
func (r *receiver) snapshot() ([]message, map[string]pageSeen, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make(map[string]pageSeen, len(r.seen))
	for id, p := range r.seen {
		seen[id] = *p
	}
	return slices.Clone(r.msgs), seen, slices.Clone(r.bad)
}

func (r *receiver) close() { r.srv.Close() }
