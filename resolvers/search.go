package resolvers

import (
	"context"

	"notifyql"
	"notifyql/dataloaders"
	"notifyql/graph"
	"notifyql/phone"
)

// RememberSearch stores the term for the service under its keyed hash and returns the
// hash (DOMAIN.md §6.4); any member may (§16).
func (r mutationResolver) RememberSearch(ctx context.Context, serviceID string, term string) (*graph.SearchHandle, error) {
	_, svc, err := r.serviceFor(ctx, serviceID, notifyql.Requirement{})
	if err != nil {
		return nil, err
	}
	if err := notifyql.ValidateSearchTerm(term); err != nil {
		return nil, err
	}
	if r.searches == nil {
		return nil, notifyql.Errorf(notifyql.EUNAVAILABLE, "remembering searches is unavailable: search by term")
	}
	hash := notifyql.SearchHash(r.searchSecret, term)
	if err := r.searches.Remember(ctx, svc.ID, hash, term); err != nil {
		return nil, err
	}
	return &graph.SearchHandle{Hash: hash}, nil
}

// searchOf turns a notifications search argument into what the store matches: the term,
// looked up by its hash when given one, normalised for the type searched (§6.3). A nil
// argument is no search.
func (r *Resolver) searchOf(ctx context.Context, svc *notifyql.Service, typ *notifyql.NotificationType, arg *graph.NotificationSearch) (*notifyql.Search, error) {
	if arg == nil {
		return nil, nil
	}
	if (arg.Hash == nil) == (arg.Term == nil) {
		return nil, notifyql.Errorf(notifyql.EINVALID, "search needs exactly one of hash and term")
	}
	var term string
	if arg.Hash != nil {
		if err := notifyql.ValidateSearchHash(*arg.Hash); err != nil {
			return nil, err
		}
		if r.searches == nil {
			return nil, notifyql.Errorf(notifyql.EUNAVAILABLE, "searching by a remembered search is unavailable: search by term")
		}
		var err error
		if term, err = r.searches.Recall(ctx, svc.ID, *arg.Hash); err != nil {
			return nil, err
		}
	} else {
		term = *arg.Term
	}
	if err := notifyql.ValidateSearchTerm(term); err != nil {
		return nil, err
	}
	hasAPIKeys, err := dataloaders.For(ctx).HasAPIKeys().Load(ctx, svc.ID)
	if err != nil {
		return nil, err
	}
	return &notifyql.Search{
		Normalised:     notifyql.NormaliseSearchTerm(typ, term, phone.NationalSignificantNumber),
		Raw:            term,
		MatchReference: notifyql.SearchesReference(typ, hasAPIKeys),
	}, nil
}
