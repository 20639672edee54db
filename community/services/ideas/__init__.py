"""The idea exchange: posting, voting, comments and following, status changes, merging, links to
threads and tickets, demand, closing the loop, vote budgets, listings and export."""
