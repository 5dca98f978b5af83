package main

import (
	"encoding/json"
	"errors"
	"fmt"
)

// row is what both servers must agree on before anything is timed: a notification's id and
// the name of the template version it was sent from.
type row struct {
	ID       string
	Template string
}

// operation is one request the comparison times. pgQuery is empty for an operation that
// PostGraphile does not answer (the dashboard), which is timed on notifyql alone.
type operation struct {
	name    string
	clients []int

	query     string
	variables map[string]any
	rows      func(data json.RawMessage) ([]row, error) // notifyql's answer's rows

	pgQuery     string
	pgVariables map[string]any
	pgRows      func(data json.RawMessage) ([]row, error)
}

// The 50-row page is notifyql's notifications list of the big service's emails, newest
// first, with each row's template name; PostGraphile's is the same list through
// allNotifications, with the `listed` condition (graphile.config.mjs) leaving out what
// notifyql's list does.
const pageQuery = `query Page($id: ID!) {
  service(id: $id) {
    notifications(type: EMAIL, first: 50) {
      edges { node { id type recipient status createdAt template { name version } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`

const pgPageQuery = `query Page($id: UUID!) {
  allNotifications(condition: {serviceId: $id, notificationType: "email", listed: true},
    orderBy: [CREATED_AT_DESC, ROW_ID_DESC], first: 50) {
    nodes {
      rowId notificationType to notificationStatus createdAt
      templatesHistoryByTemplateIdAndTemplateVersion { name version }
    }
    pageInfo { hasNextPage endCursor }
  }
}`

const byIDQuery = `query Notification($id: ID!) {
  notification(id: $id) { id type recipient status createdAt template { name version } }
}`

const pgByIDQuery = `query Notification($id: UUID!) {
  notificationByRowId(rowId: $id) {
    rowId notificationType to notificationStatus createdAt
    templatesHistoryByTemplateIdAndTemplateVersion { name version }
  }
}`

// dashboardQuery is `make bench`'s dashboard: the totals and the template statistics.
const dashboardQuery = `query Dashboard($id: ID!) {
  service(id: $id) {
    totals {
      email { requested delivered failed failurePercentage showWarning }
      sms { requested delivered failed failurePercentage showWarning }
      letter { requested delivered failed failurePercentage showWarning }
    }
    templateStatistics { count template { name type isPrecompiledLetter } }
  }
}`

// operations are the rows, for the big service and its newest listed email.
func operations(serviceID, notificationID string, clients []int) []operation {
	return []operation{
		{
			name: opPage, clients: clients,
			query: pageQuery, variables: map[string]any{"id": serviceID}, rows: notifyqlPageRows,
			pgQuery: pgPageQuery, pgVariables: map[string]any{"id": serviceID}, pgRows: postgraphilePageRows,
		},
		{
			name: opByID, clients: clients,
			query: byIDQuery, variables: map[string]any{"id": notificationID}, rows: notifyqlNotificationRows,
			pgQuery: pgByIDQuery, pgVariables: map[string]any{"id": notificationID}, pgRows: postgraphileNotificationRows,
		},
		{
			name: opDashboard, clients: clients[:1],
			query: dashboardQuery, variables: map[string]any{"id": serviceID}, rows: dashboardRows,
		},
	}
}

type notifyqlNode struct {
	ID       string `json:"id"`
	Template *struct {
		Name string `json:"name"`
	} `json:"template"`
}

func (n notifyqlNode) row() row {
	r := row{ID: n.ID}
	if n.Template != nil {
		r.Template = n.Template.Name
	}
	return r
}

type postgraphileNode struct {
	RowID    string `json:"rowId"`
	Template *struct {
		Name string `json:"name"`
	} `json:"templatesHistoryByTemplateIdAndTemplateVersion"`
}

func (n postgraphileNode) row() row {
	r := row{ID: n.RowID}
	if n.Template != nil {
		r.Template = n.Template.Name
	}
	return r
}

func notifyqlPageRows(data json.RawMessage) ([]row, error) {
	var d struct {
		Service *struct {
			Notifications *struct {
				Edges []struct {
					Node notifyqlNode `json:"node"`
				} `json:"edges"`
			} `json:"notifications"`
		} `json:"service"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	if d.Service == nil || d.Service.Notifications == nil {
		return nil, errors.New("no service.notifications in the answer")
	}
	rows := make([]row, len(d.Service.Notifications.Edges))
	for i, e := range d.Service.Notifications.Edges {
		rows[i] = e.Node.row()
	}
	return rows, nil
}

func postgraphilePageRows(data json.RawMessage) ([]row, error) {
	var d struct {
		AllNotifications *struct {
			Nodes []postgraphileNode `json:"nodes"`
		} `json:"allNotifications"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	if d.AllNotifications == nil {
		return nil, errors.New("no allNotifications in the answer")
	}
	rows := make([]row, len(d.AllNotifications.Nodes))
	for i, n := range d.AllNotifications.Nodes {
		rows[i] = n.row()
	}
	return rows, nil
}

func notifyqlNotificationRows(data json.RawMessage) ([]row, error) {
	var d struct {
		Notification *notifyqlNode `json:"notification"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	if d.Notification == nil {
		return nil, errors.New("no notification in the answer")
	}
	return []row{d.Notification.row()}, nil
}

func postgraphileNotificationRows(data json.RawMessage) ([]row, error) {
	var d struct {
		Notification *postgraphileNode `json:"notificationByRowId"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	if d.Notification == nil {
		return nil, errors.New("no notificationByRowId in the answer")
	}
	return []row{d.Notification.row()}, nil
}

// dashboardRows are the template statistics' template names, in the order shown: with no
// other server to compare with, they only prove that the dashboard answered with data.
func dashboardRows(data json.RawMessage) ([]row, error) {
	var d struct {
		Service *struct {
			Totals             json.RawMessage `json:"totals"`
			TemplateStatistics []struct {
				Template *struct {
					Name string `json:"name"`
				} `json:"template"`
			} `json:"templateStatistics"`
		} `json:"service"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	if d.Service == nil || len(d.Service.Totals) == 0 || string(d.Service.Totals) == "null" {
		return nil, errors.New("no service.totals in the answer")
	}
	rows := make([]row, 0, len(d.Service.TemplateStatistics))
	for _, s := range d.Service.TemplateStatistics {
		if s.Template != nil {
			rows = append(rows, row{Template: s.Template.Name})
		}
	}
	return rows, nil
}

// compareRows fails unless both lists hold the same rows in the same order, naming the
// first difference by position and id (ids and template names are no personal data).
func compareRows(notifyql, postgraphile []row) error {
	if len(notifyql) == 0 {
		return errors.New("notifyql returned no rows: there is nothing to compare")
	}
	for i := range min(len(notifyql), len(postgraphile)) {
		if notifyql[i] != postgraphile[i] {
			return fmt.Errorf("row %d differs: notifyql has %s (template %q), PostGraphile %s (template %q)",
				i+1, notifyql[i].ID, notifyql[i].Template, postgraphile[i].ID, postgraphile[i].Template)
		}
	}
	if len(notifyql) != len(postgraphile) {
		return fmt.Errorf("notifyql returned %d rows, PostGraphile %d", len(notifyql), len(postgraphile))
	}
	return nil
}
