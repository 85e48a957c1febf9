// Owns the customer-base page's script (plain browser JavaScript, run as is):
// it reads /graphql with the page's own credentials, draws the summary as
// bars, pages through the customers whose MCA is not accepted, and follows
// the changes live over GraphQL over SSE, reconnecting with its last cursor.

/**
 * Kept as a string, without template literals, so that its hash in the CSP is of exactly what is served. Every
 * text from the gateway goes into the page through textContent, never as markup.
 */
export const PAGE_SCRIPT = `
'use strict';
(function () {
  var PAGE_SIZE = 20;
  var CHANGES_SHOWN = 20;
  var OVERVIEW = 'query CustomerBasePageOverview { customerBase { ' +
    'sync { enabled customersKnown customersSynced lastPassCompletedAt oldestSyncedAt } ' +
    'summary { customers mcaAccepted mcaNotAccepted mcaAcceptanceUnknown qualifications { kind vettingStatus count } } } }';
  var NOT_ACCEPTED = 'query CustomerBasePageNotAccepted($after: String) { customerBase { ' +
    'customers(first: ' + PAGE_SIZE + ', after: $after, where: { mcaAccepted: false }) { ' +
    'nodes { id companyName domain relationshipToPartner mcaAcceptance { directlySigned } syncedAt } ' +
    'pageInfo { hasNextPage endCursor } } } }';
  var CHANGES = 'query CustomerBasePageChanges($after: String) { customerBase { changes(first: 100, after: $after) { ' +
    'nodes { cursor at kind source customerId companyName qualification qualificationKind vettingStatusBefore vettingStatus } ' +
    'pageInfo { hasNextPage endCursor } } } }';
  var FOLLOW = 'subscription CustomerBasePageFollow($after: String) { customerChanges(after: $after) { ' +
    'cursor at kind source customerId companyName qualification qualificationKind vettingStatusBefore vettingStatus } }';
  var KINDS = {
    EDUCATION: 'Education', GOVERNMENT_COMMUNITY_CLOUD: 'Government Community Cloud',
    STATE_OWNED_ENTITY: 'State-owned entity', NONPROFIT: 'Nonprofit', OTHER: 'Other'
  };
  var STATUSES = { null: 'No status', APPROVED: 'Approved', IN_REVIEW: 'In review', DENIED: 'Denied', NONE: 'None' };
  var RELATIONSHIPS = { RESELLER: 'Reseller', ADVISOR: 'Advisor', MICROSOFT_SUPPORT: 'Microsoft support', NONE: 'None' };
  var CHANGE_KINDS = {
    CUSTOMER_LISTED: 'Customer listed', CUSTOMER_DROPPED: 'Customer no longer listed',
    QUALIFICATION_ADDED: 'Qualification added', QUALIFICATION_REMOVED: 'Qualification removed',
    VETTING_STATUS_CHANGED: 'Vetting status changed', MCA_ACCEPTED: 'MCA accepted', MCA_NOT_ACCEPTED: 'MCA no longer accepted'
  };

  var byId = function (id) { return document.getElementById(id); };
  var element = function (tag, text, className) {
    var made = document.createElement(tag);
    if (text !== undefined && text !== null) made.textContent = String(text);
    if (className) made.className = className;
    return made;
  };
  var wording = function (table, value) { return Object.prototype.hasOwnProperty.call(table, value) ? table[value] : String(value); };
  var shortDate = function (iso) { return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }); };
  var when = function (iso) {
    if (!iso) return element('span', 'never');
    var shown = element('time', shortDate(iso));
    shown.dateTime = iso;
    return shown;
  };
  var put = function (id, content) {
    var target = byId(id);
    target.replaceChildren(typeof content === 'object' ? content : document.createTextNode(String(content)));
  };
  var problem = function (text) { byId('problem').textContent = text || ''; };

  /** One GraphQL request with the page's own credentials; rejects with the first error's message. */
  function graphql(query, variables) {
    return fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/graphql-response+json, application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ query: query, variables: variables || {} })
    }).then(function (response) {
      return response.json().catch(function () { throw new Error('The gateway answered ' + response.status + ' without JSON.'); });
    }).then(function (body) {
      if (body.errors && body.errors.length) {
        var error = new Error(body.errors[0].message);
        error.code = body.errors[0].extensions && body.errors[0].extensions.code;
        error.reason = body.errors[0].extensions && body.errors[0].extensions.reason;
        throw error;
      }
      return body.data;
    });
  }

  /** A labelled bar: the count as text beside it, and the same words for screen readers. */
  function bar(name, label, count, total, fillClass) {
    var row = element('div', null, 'bar');
    row.dataset.bar = name;
    var share = total > 0 ? count / total : 0;
    var track = element('div', null, 'track');
    track.setAttribute('role', 'img');
    track.setAttribute('aria-label', label + ': ' + count + ' of ' + total + ' customers (' + Math.round(share * 100) + '%)');
    var fill = element('div', null, 'fill ' + fillClass);
    fill.style.width = (share * 100).toFixed(1) + '%';
    track.append(fill);
    var shown = element('span', count, 'count');
    shown.setAttribute('aria-hidden', 'true');
    var named = element('span', label, 'label');
    named.setAttribute('aria-hidden', 'true');
    row.append(named, track, shown);
    return row;
  }

  function loadOverview() {
    return graphql(OVERVIEW).then(function (data) {
      var sync = data.customerBase.sync;
      var summary = data.customerBase.summary;
      put('sync-enabled', sync.enabled ? 'Yes' : 'No');
      put('sync-known', sync.customersKnown);
      put('sync-synced', sync.customersSynced);
      put('sync-last-pass', when(sync.lastPassCompletedAt));
      put('sync-oldest', when(sync.oldestSyncedAt));
      put('sync-line', sync.customersSynced + ' of ' + sync.customersKnown + ' customers synced' +
        (sync.lastPassCompletedAt ? '; last pass completed ' + shortDate(sync.lastPassCompletedAt) : '; the first pass is under way'));
      put('customer-count', summary.customers);
      byId('mca-bars').replaceChildren(
        bar('mca-accepted', 'Accepted', summary.mcaAccepted, summary.customers, 'accepted'),
        bar('mca-not-accepted', 'Not accepted', summary.mcaNotAccepted, summary.customers, 'not-accepted'),
        bar('mca-unknown', 'Unknown', summary.mcaAcceptanceUnknown, summary.customers, 'unknown')
      );
      var groups = [];
      var current = null;
      summary.qualifications.forEach(function (item) {
        if (!current || current.kind !== item.kind) {
          current = { kind: item.kind, items: [] };
          groups.push(current);
        }
        current.items.push(item);
      });
      var bars = byId('qualification-bars');
      bars.replaceChildren();
      if (groups.length === 0) bars.append(element('p', 'No customer holds a qualification.', 'note'));
      groups.forEach(function (group) {
        bars.append(element('h3', wording(KINDS, group.kind)));
        group.items.forEach(function (item) {
          var status = item.vettingStatus;
          bars.append(bar(group.kind + ':' + (status || 'null'), wording(STATUSES, status), item.count, summary.customers,
            status || 'unknown'));
        });
      });
    });
  }

  // The cursors of the pages before this one, for Previous; the cursor of this page; the next page's.
  var previousCursors = [];
  var pageCursor = null;
  var nextCursor = null;

  function loadPage() {
    return graphql(NOT_ACCEPTED, { after: pageCursor }).then(function (data) {
      var connection = data.customerBase.customers;
      var rows = connection.nodes.map(function (customer) {
        var row = element('tr');
        row.dataset.id = customer.id;
        var signed = customer.mcaAcceptance ? (customer.mcaAcceptance.directlySigned ? 'Yes' : 'No') : 'Unknown';
        var synced = element('td');
        synced.append(when(customer.syncedAt));
        var company = element('td', customer.companyName || '(no name)', 'company');
        company.append(element('span', customer.id, 'id'));
        row.append(
          company,
          element('td', customer.domain || ''),
          element('td', customer.relationshipToPartner ? wording(RELATIONSHIPS, customer.relationshipToPartner) : ''),
          element('td', signed),
          synced
        );
        return row;
      });
      if (rows.length === 0) {
        var none = element('tr');
        var cell = element('td', 'Every customer known has accepted the MCA, or is not known yet.');
        cell.colSpan = 5;
        none.append(cell);
        rows.push(none);
      }
      document.querySelector('#not-accepted tbody').replaceChildren.apply(document.querySelector('#not-accepted tbody'), rows);
      nextCursor = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
      byId('next').disabled = nextCursor === null;
      byId('previous').disabled = previousCursors.length === 0;
      put('page-number', 'Page ' + (previousCursors.length + 1));
    });
  }

  byId('next').addEventListener('click', function () {
    if (nextCursor === null) return;
    previousCursors.push(pageCursor);
    pageCursor = nextCursor;
    loadPage().catch(report);
  });
  byId('previous').addEventListener('click', function () {
    if (previousCursors.length === 0) return;
    pageCursor = previousCursors.pop();
    loadPage().catch(report);
  });

  // The changes shown, newest first, and the cursor of the newest one known: where the live stream resumes.
  var shown = [];
  var lastCursor = null;

  function describe(change) {
    var item = element('li');
    item.dataset.cursor = change.cursor;
    item.dataset.kind = change.kind;
    item.dataset.customerId = change.customerId;
    var detail = [];
    if (change.qualification) detail.push(change.qualification);
    if (change.vettingStatusBefore || change.vettingStatus) {
      detail.push((change.vettingStatusBefore ? wording(STATUSES, change.vettingStatusBefore) + ' → ' : '') +
        wording(STATUSES, change.vettingStatus || null));
    }
    if (change.source) detail.push(change.source === 'GATEWAY' ? 'made through this gateway' : 'found by the sync');
    var line = element('div');
    line.append(element('span', wording(CHANGE_KINDS, change.kind), 'what'), document.createTextNode(' · ' +
      (change.companyName || change.customerId)));
    var at = element('div', null, 'when');
    at.append(when(change.at));
    item.append(line, element('div', detail.join(' · '), 'detail'), at);
    return item;
  }

  function showChanges() {
    var list = byId('changes');
    if (shown.length === 0) {
      list.replaceChildren(element('li', 'No change recorded yet.', 'detail'));
      return;
    }
    list.replaceChildren.apply(list, shown.map(describe));
  }

  /** The newest changes kept: the log is oldest first, so it is read to its end from the cursor known. */
  function loadChanges() {
    var kept = [];
    var after = null;
    var next = function () {
      return graphql(CHANGES, { after: after }).then(function (data) {
        var connection = data.customerBase.changes;
        kept = kept.concat(connection.nodes).slice(-CHANGES_SHOWN);
        if (connection.pageInfo.endCursor) after = connection.pageInfo.endCursor;
        if (connection.pageInfo.hasNextPage) return next();
        shown = kept.reverse();
        lastCursor = after;
        showChanges();
      });
    };
    return next();
  }

  var refreshing = null;
  /** After a change the numbers and the table are read again, once for a burst of changes. */
  function refreshSoon() {
    if (refreshing) return;
    refreshing = setTimeout(function () {
      refreshing = null;
      Promise.all([loadOverview(), loadPage()]).catch(report);
    }, 250);
  }

  function arrived(change) {
    if (shown.some(function (known) { return known.cursor === change.cursor; })) return;
    shown.unshift(change);
    shown = shown.slice(0, CHANGES_SHOWN);
    lastCursor = change.cursor;
    showChanges();
    refreshSoon();
  }

  function liveState(on, text) {
    var dot = element('span', null, on ? 'live on' : 'live');
    byId('live-state').replaceChildren(dot, document.createTextNode(text));
  }

  /** The events of a text/event-stream body, as { event, data }; comments (keep-alives) are skipped. */
  function readEvents(body, onEvent) {
    var reader = body.pipeThrough(new TextDecoderStream()).getReader();
    var buffer = '';
    var pump = function () {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += chunk.value.replace(/\\r\\n?/g, '\\n');
        var end = buffer.indexOf('\\n\\n');
        while (end >= 0) {
          var block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          var event = 'message';
          var data = [];
          block.split('\\n').forEach(function (line) {
            if (line === '' || line.charAt(0) === ':') return;
            var colon = line.indexOf(':');
            var field = colon < 0 ? line : line.slice(0, colon);
            var value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') event = value;
            if (field === 'data') data.push(value);
          });
          if (data.length > 0 || event !== 'message') {
            if (onEvent({ event: event, data: data.join('\\n') }) === false) {
              reader.cancel();
              return;
            }
          }
          end = buffer.indexOf('\\n\\n');
        }
        return pump();
      });
    };
    return pump();
  }

  var MIN_DELAY = 1000;
  var MAX_DELAY = 30000;
  var delay = MIN_DELAY;

  /** Follows customerChanges from the last cursor; after an error or the stream's end it reconnects, backing off. */
  function follow() {
    var final = null;
    var failure = null;
    fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: FOLLOW, variables: { after: lastCursor } })
    }).then(function (response) {
      var type = response.headers.get('content-type') || '';
      if (!response.ok || type.indexOf('text/event-stream') !== 0 || !response.body) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          var first = body.errors && body.errors[0];
          failure = first || { message: 'the gateway answered ' + response.status };
          // A refused caller or a document the gateway does not know is not cured by asking again.
          if (response.status === 401 || response.status === 403 || response.status === 400) final = failure;
        });
      }
      liveState(true, 'Live: changes appear here as the gateway records them.');
      return readEvents(response.body, function (event) {
        if (event.event === 'complete') return false;
        if (event.event !== 'next' && event.event !== 'message') return true;
        var payload = JSON.parse(event.data);
        if (payload.errors && payload.errors.length) {
          failure = payload.errors[0];
          return false;
        }
        if (payload.data && payload.data.customerChanges) {
          delay = MIN_DELAY;
          arrived(payload.data.customerChanges);
        }
        return true;
      });
    }).catch(function (error) {
      failure = { message: error.message };
    }).then(function () {
      var extensions = (failure && failure.extensions) || {};
      if (extensions.reason === 'CURSOR_EXPIRED') {
        // The cursor fell out of the kept log: read the latest afresh, then follow from there.
        return loadChanges().then(function () { delay = MIN_DELAY; follow(); }, function (error) { retry(error.message); });
      }
      if (final || extensions.code === 'UNAUTHENTICATED' || extensions.code === 'FORBIDDEN' || extensions.code === 'SYNC_NOT_ENABLED') {
        liveState(false, 'Not live: ' + (final || failure).message + ' Reload the page to try again.');
        return;
      }
      retry(failure ? failure.message : 'the stream ended.');
    });
  }

  function retry(why) {
    liveState(false, 'Reconnecting in ' + Math.round(delay / 1000) + ' s (' + why + ')');
    setTimeout(follow, delay);
    delay = Math.min(delay * 2, MAX_DELAY);
  }

  function report(error) {
    problem(error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN'
      ? 'The gateway refused this page\\'s request: ' + error.message
      : 'Could not read the customer base: ' + error.message);
  }

  loadOverview().catch(report);
  loadPage().catch(report);
  loadChanges().then(follow, function (error) {
    liveState(false, 'Changes are not available: ' + error.message);
  });
})();
`;
