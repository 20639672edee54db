"""Official support: contact requests, escalating threads to tickets, the ticket workflow and queue,
and the signed webhook outbox that hands tickets to the company's help desk.
"""
