"""Sharing with the provincial and national systems (数据共享交换): the 多规 tables of the front database."""
