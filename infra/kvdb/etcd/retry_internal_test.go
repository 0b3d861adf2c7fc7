package etcd

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/raft/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRetryAmbiguousCutsAnAttemptThatHangsAndTriesAgain(t *testing.T) {
	calls := 0
	err := retryAmbiguous(context.Background(), 20*time.Millisecond, func(ctx context.Context) error {
		calls++
		if calls < 3 {
			<-ctx.Done() // a write stuck behind a dead leader
			return ctx.Err()
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("retryAmbiguous = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestRetryAmbiguousGivesTheSecondAttemptTheFirstOnesTimeThenDoubles(t *testing.T) {
	var left []time.Duration
	err := retryAmbiguous(context.Background(), 10*time.Second, func(ctx context.Context) error {
		d, ok := ctx.Deadline()
		if !ok {
			t.Fatal("attempt without a deadline")
		}
		left = append(left, time.Until(d))
		if len(left) < 4 {
			return rpctypes.ErrNoLeader
		}
		return nil
	})
	if err != nil || len(left) != 4 {
		t.Fatalf("retryAmbiguous = %v after %d calls, want nil after 4", err, len(left))
	}
	for i, want := range []time.Duration{10 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second} {
		if left[i] > want || left[i] < want-5*time.Second {
			t.Errorf("attempt %d had %v, want %v", i+1, left[i], want)
		}
	}
}

// A member campaigning for leadership drops proposals; etcd hands raft's
// error over as it is, so the client sees codes.Unknown with its text.
func TestRetryAmbiguousRetriesADroppedProposal(t *testing.T) {
	if raft.ErrProposalDropped.Error() != proposalDropped {
		t.Fatalf("raft.ErrProposalDropped says %q, the plugin looks for %q", raft.ErrProposalDropped, proposalDropped)
	}
	calls := 0
	err := retryAmbiguous(context.Background(), time.Second, func(context.Context) error {
		calls++
		if calls == 1 {
			return status.Error(codes.Unknown, raft.ErrProposalDropped.Error())
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("retryAmbiguous = %v after %d calls, want nil after 2", err, calls)
	}
}

func TestRetryAmbiguousStopsWhenTheCallersContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := retryAmbiguous(ctx, 10*time.Millisecond, func(actx context.Context) error {
		calls++
		if calls == 2 {
			cancel() // the caller gives up during the second attempt
		}
		<-actx.Done()
		return actx.Err()
	})
	if !errors.Is(err, context.Canceled) || calls != 2 {
		t.Fatalf("retryAmbiguous = %v after %d calls, want context.Canceled after 2", err, calls)
	}
}

func TestRetryAmbiguousReturnsOtherErrorsAtOnce(t *testing.T) {
	boom := errors.New("permission denied")
	calls := 0
	err := retryAmbiguous(context.Background(), time.Second, func(context.Context) error {
		calls++
		return boom
	})
	if err != boom || calls != 1 {
		t.Errorf("retryAmbiguous = %v after %d calls, want %v after 1", err, calls, boom)
	}
}
