"""The network's workflows on top of the store: exchanges and requests, outcomes, submissions, notifications, impact and the work queue."""
