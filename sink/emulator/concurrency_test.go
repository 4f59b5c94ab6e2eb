package emulator_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// Parallel PutLogEvents to one stream are allowed (sequence tokens are
// ignored since 2023): nothing is lost, and each writer's events keep their
// order.
func TestConcurrency_ParallelPutsToOneStream(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	env.CreateStream(t, "g", "s")
	const writers, puts, perPut = 6, 20, 50
	now := time.Now().UnixMilli()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range puts {
				events := make([]types.InputLogEvent, perPut)
				for i := range events {
					events[i] = ev(now, fmt.Sprintf("w%d:%d", w, p*perPut+i))
				}
				if _, err := put(context.Background(), env, "g", "s", events...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	msgs := env.Messages("g", "s")
	if len(msgs) != writers*puts*perPut {
		t.Fatalf("stored %d events, want %d", len(msgs), writers*puts*perPut)
	}
	next := make([]int, writers)
	for _, m := range msgs {
		w, n, _ := strings.Cut(strings.TrimPrefix(m, "w"), ":")
		wi, _ := strconv.Atoi(w)
		ni, _ := strconv.Atoi(n)
		if ni != next[wi] {
			t.Fatalf("writer %d: event %d stored after %d, want in order", wi, ni, next[wi]-1)
		}
		next[wi]++
	}
	evs := env.Server.Events("g", "s")
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq || evs[i].ID <= evs[i-1].ID {
			t.Fatalf("event %d seq/id %d/%s not after %d/%s", i, evs[i].Seq, evs[i].ID, evs[i-1].Seq, evs[i-1].ID)
		}
	}
}
