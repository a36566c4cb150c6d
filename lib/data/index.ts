// Filled in by the data work. 
export {};
